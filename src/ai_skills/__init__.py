"""ai-skills: ship, deploy and run agent skills."""

__version__ = "0.1.0"
