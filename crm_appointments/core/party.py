"""Who an appointment is with: the DocTypes a party may be, limited to those the site has."""

import frappe

# In the order the desk offers them. Contact is Frappe's own; the rest come with ERPNext or Frappe CRM.
CANDIDATE_DOCTYPES = ("Contact", "Lead", "Customer", "CRM Lead", "CRM Deal")


def party_doctypes() -> list[str]:
	"""The candidate DocTypes that exist on this site."""
	existing = set(frappe.get_all("DocType", filters={"name": ("in", CANDIDATE_DOCTYPES)}, pluck="name"))
	return [dt for dt in CANDIDATE_DOCTYPES if dt in existing]
