"""What Frappe's generic desk reads hand out of the app's documents: their titles where other
documents link to them, their counts, and the link fields' searches.

Frappe shows a linked document by its title when the DocType asks for it (`show_title_field_in_link`),
and hands that title to anyone who may read the linking document: `getdoc` sends `_link_titles` for
every link on the document, and `frappe.desk.search.get_link_title` answers for any name, neither
asking whether the user may read the linked document. Its link formatter writes the title as HTML for
users who may not read the linked DocType, and the link field's dropdown writes every search result
as HTML. The customer's name is stored as typed, so a user who may not read an appointment could
learn its customer's name, and markup in the name could run in their page; a host's title (their
full name) for a user id tells who is a host. `frappe.client.get_count` (Frappe 15.55) counts any
DocType with any filters and no permission check: counting appointments by `customer_email`, or by
`name like 'appointment_a%'`, would recover what the list hides.

So, through Frappe's hooks (hooks.py), for every DocType of the app:
- `get_link_title` and `getdoc` (override_whitelisted_methods) give a document's title only to
  users who may read that document; everyone else gets the name they asked with, whether it exists
  or not, as Frappe shows any link without a title.
- `get_count` counts only for users who may read the DocType, and only what they may read.
- the appointment link search (standard_queries) sends the title and the other search columns
  escaped, because the dropdown renders them as HTML. Every other place that shows the title to a
  reader writes it as text (the link formatter uses innerText, the input its value). The host
  pickers offer only hosts who can take appointments (`search_active_hosts`).
"""

import frappe
from frappe import _, client
from frappe.desk import search
from frappe.desk.form import load
from frappe.utils import escape_html, get_safe_filters

from crm_appointments.core.names import APPOINTMENT as DOCTYPE
from crm_appointments.core.names import HOST, MODULE
from crm_appointments.scheduling import host_calendars

SEARCH_FIELDS = ("name", "customer_name", "customer_email")


def is_ours(doctype) -> bool:
	"""Whether a DocType is one of the app's (its module)."""
	return (
		isinstance(doctype, str) and frappe.db.get_value("DocType", doctype, "module", cache=True) == MODULE
	)


def may_read(doctype: str, name) -> bool:
	"""Whether the session user may read the document: False for a missing one too, so that what a
	caller is told is the same whether it exists or not."""
	return bool(name and frappe.db.exists(doctype, name) and frappe.has_permission(doctype, "read", doc=name))


@frappe.whitelist()
def get_link_title(doctype: str, docname: str):
	"""Frappe's get_link_title; for the app's DocTypes the title only for users who may read that
	document, and for everyone else the name they asked with, whether it exists or not (so it tells
	nothing: neither an appointment's customer nor who is a host)."""
	if is_ours(doctype) and not may_read(doctype, docname):
		return docname
	return search.get_link_title(doctype, docname)


@frappe.whitelist()
def getdoc(doctype: str, name: str, user: str | None = None):
	"""Frappe's getdoc, with the titles of linked documents of the app's DocTypes that the user may not
	read replaced by their names."""
	load.getdoc(doctype, name, user)
	titles = frappe.local.response.get("_link_titles") or {}
	for key in list(titles):
		linked_doctype, _separator, linked = key.partition("::")
		if is_ours(linked_doctype) and not may_read(linked_doctype, linked):
			titles[key] = linked


@frappe.whitelist()
def get_count(
	doctype: str, filters: str | dict | list | None = None, debug: bool = False, cache: bool = False
):
	"""Frappe's frappe.client.get_count, which (Frappe 15.55) counts with no permission check: for the
	app's DocTypes only users who may read the DocType may count, and they count what they may read
	(User Permissions and if-owner rules apply, as in the list). Anyone else gets a PermissionError,
	whatever the filters, so nothing can be learnt by counting (customer emails, ids character by
	character)."""
	if not is_ours(doctype):
		return client.get_count(doctype, filters=filters, debug=debug, cache=cache)
	filters = get_safe_filters(filters)
	parent = None
	if frappe.get_meta(doctype).istable:
		parent = frappe.db.get_value(
			"DocField", {"options": doctype, "fieldtype": ["in", ["Table", "Table MultiSelect"]]}, "parent"
		)
	if not frappe.has_permission(parent or doctype, "read"):
		raise frappe.PermissionError(_("You may not count {0} records.").format(_(doctype)))
	return frappe.get_list(
		doctype, filters=filters, fields=["count(*) as count"], parent_doctype=parent, as_list=True
	)[0][0]


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


@frappe.whitelist()
def search_active_hosts(
	doctype: str,
	txt: str,
	searchfield: str,
	start: int,
	page_len: int,
	filters: str | dict | list | None,
	as_dict: bool = False,
):
	"""The host pickers' search (a new appointment's Host, Find a time): the hosts who can take
	appointments (host_calendars.ACTIVE_HOST) that the user may read, matched on the id or name."""
	txt = f"%{txt or ''}%"
	rows = frappe.get_list(
		HOST,
		fields=["name", "full_name"],
		or_filters=[[HOST, "name", "like", txt], [HOST, "full_name", "like", txt]],
		order_by="full_name",
		limit_page_length=0,
		as_list=True,
	)
	active = set(host_calendars.active_hosts([name for name, _full_name in rows]))
	found = [(name, escape_html(full_name or "")) for name, full_name in rows if name in active]
	start, page_len = int(start or 0), int(page_len or 20)
	return found[start : start + page_len]
