"""What every layer may use: the app's names, the settings' getters and limits, the status workflow, the party DocTypes, the exceptions, the adapter over Frappe's private parts."""
