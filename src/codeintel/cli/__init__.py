"""The command line, a front door over the application API (``codeintel.Workspace``)."""
