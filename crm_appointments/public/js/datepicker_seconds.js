// Copyright (c) 2026, crm_appointments developers
// For license information, please see license.txt

// Frappe pins its own fork of air-datepicker, which adds seconds to the time format ("ss"). A bench
// that cannot reach GitHub gets the registry's air-datepicker 2.2.3 instead (scripts/setup.sh), and
// 2.2.3 leaves "ss" as it stands: every Datetime field of the desk would show "10:30:ss". This
// teaches 2.2.3 the seconds, as the fork writes them; with the fork it does nothing.
// The sites scripts/lib.sh makes on such a bench load it (site config app_include_js).
(function () {
	const datepicker = window.jQuery && jQuery.fn.datepicker && jQuery.fn.datepicker.Constructor;
	if (!datepicker || "fullSeconds" in datepicker.getParsedDate(new Date())) return;

	const format_date = datepicker.prototype.formatDate;
	const MARK = "\u0000"; // stands for the seconds while 2.2.3 formats the rest: no token matches it
	datepicker.prototype.formatDate = function (format, date) {
		if (!/ss/.test(format)) return format_date.call(this, format, date);
		const marked = this._replacer(format, this._getWordBoundaryRegExp("ss"), MARK);
		const seconds = String(date.getSeconds()).padStart(2, "0");
		return format_date.call(this, marked, date).split(MARK).join(seconds);
	};
})();
