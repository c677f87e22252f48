// Print `npx skills`' own agent table as JSON, resolved for this process's environment:
// {"version": "...", "agents": {name: {displayName, skillsDir, globalSkillsDir}}}.
//
//   node npx_agent_table.mjs SKILLS_PACKAGE_DIR
//
// The table is the `const agents = {...}` block of the package's dist/cli.mjs, together
// with the constants it reads (home, configHome, CLAUDE_CONFIG_DIR, ...), which start at
// `const home = homedir();`. Importing cli.mjs would run the CLI, so that slice of its
// source is evaluated on its own, with the package's real xdg-basedir module.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const packageDir = process.argv[2];
const dist = join(packageDir, "dist");
const source = readFileSync(join(dist, "cli.mjs"), "utf-8");
const start = source.indexOf("const home = homedir();");
const tableStart = source.indexOf("const agents = {", start);
const tableEnd = source.indexOf("\n};\n", tableStart);
if (start < 0 || tableStart < 0 || tableEnd < 0) {
  console.error(`${dist}/cli.mjs: no \`const agents = {...}\` table found`);
  process.exit(3);
}
const { xdgConfig } = await import(pathToFileURL(join(dist, "_chunks/libs/xdg-basedir.mjs")));
const slice = source.slice(start, tableEnd + 3);
const build = new Function(
  "homedir", "join", "existsSync", "readFileSync", "xdgConfig",
  `${slice}\nreturn agents;`,
);
const agents = build(homedir, join, existsSync, readFileSync, xdgConfig);
const out = {};
for (const [key, agent] of Object.entries(agents)) {
  out[key] = {
    displayName: agent.displayName,
    skillsDir: agent.skillsDir,
    globalSkillsDir: agent.globalSkillsDir ?? null,
  };
}
const { version } = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf-8"));
console.log(JSON.stringify({ version, agents: out }, null, 1));
