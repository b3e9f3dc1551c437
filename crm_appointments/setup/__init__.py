"""Installing and uninstalling the app."""
