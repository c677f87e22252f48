"""The skill format: a SKILL.md folder checked against the Agent Skills spec
(`validation`, `front_matter`), skills found on a search path (`catalog`), new skills from
templates (`scaffold`) and the per-user cache of folders already found valid
(`verified_cache`).
"""
