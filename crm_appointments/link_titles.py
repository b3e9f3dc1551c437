"""An appointment's title (its customer's name) where other documents link to it.

Frappe shows a linked document by its title when the DocType asks for it (`show_title_field_in_link`),
and hands that title to anyone who may read the linking document: `getdoc` sends `_link_titles` for
every link on the document, and `frappe.desk.search.get_link_title` answers for any name, neither
asking whether the user may read the linked document. Its link formatter writes the title as HTML for
users who may not read the linked DocType, and the link field's dropdown writes every search result
as HTML. The customer's name is stored as typed, so a user who may not read an appointment could
learn its customer's name, and markup in the name could run in their page.

So, through Frappe's hooks (hooks.py):
- `get_link_title` and `getdoc` (override_whitelisted_methods) give an appointment's title only to
  users who may read that appointment; everyone else gets its name (appointment_...), as Frappe
  shows any link without a title.
- the link search (standard_queries) sends the title and the other search columns escaped, because
  the dropdown renders them as HTML. Every other place that shows the title to a reader writes it
  as text (the link formatter uses innerText, the input its value).
"""

import frappe
from frappe.desk import search
from frappe.desk.form import load
from frappe.utils import escape_html

from crm_appointments.doctypes import APPOINTMENT as DOCTYPE

SEARCH_FIELDS = ("name", "customer_name", "customer_email")


def may_read(name) -> bool:
	"""Whether the session user may read the appointment; a missing one has no title to hide."""
	return not frappe.db.exists(DOCTYPE, name) or bool(frappe.has_permission(DOCTYPE, "read", doc=name))


@frappe.whitelist()
def get_link_title(doctype: str, docname: str):
	"""Frappe's get_link_title; an appointment's title only for users who may read it."""
	if doctype == DOCTYPE and not may_read(docname):
		return docname
	return search.get_link_title(doctype, docname)


@frappe.whitelist()
def getdoc(doctype: str, name: str, user: str | None = None):
	"""Frappe's getdoc, with the titles of linked appointments the user may not read replaced by
	their names."""
	load.getdoc(doctype, name, user)
	titles = frappe.local.response.get("_link_titles") or {}
	prefix = f"{DOCTYPE}::"
	for key in list(titles):
		if key.startswith(prefix):
			linked = key[len(prefix) :]
			if not may_read(linked):
				titles[key] = linked


@frappe.whitelist()
def search_appointments(
	doctype: str,
	txt: str,
	searchfield: str,
	start: int,
	page_len: int,
	filters: str | dict | list | None,
	as_dict: bool = False,
):
	"""Link field search for appointments (standard_queries): what the user may read, matched on
	the name, customer name or email, with the shown columns escaped for the dropdown's HTML."""
	txt = f"%{txt or ''}%"
	rows = frappe.get_list(
		DOCTYPE,
		fields=list(SEARCH_FIELDS),
		filters=filters,
		or_filters=[[DOCTYPE, field, "like", txt] for field in SEARCH_FIELDS],
		limit_start=start,
		limit_page_length=page_len,
		order_by="modified desc",
		as_list=True,
	)
	return [(name, escape_html(customer_name), escape_html(email)) for name, customer_name, email in rows]
