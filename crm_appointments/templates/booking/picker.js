/* The booking pages' script (inlined by www/book/index.html and manage.html): the slot picker and
   calls to /api/crm/. No build step, no framework. Times are shown in the visitor's zone (the
   browser's, changeable in the Time zone list). */
(function () {
	"use strict";
	const T = window.crmBookingText || {};
	const API = "/api/crm";

	function format(text, ...values) {
		return values.reduce((out, value, i) => out.replace(`{${i}}`, value), text || "");
	}
	function browserZone() {
		try {
			return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
		} catch (e) {
			return null;
		}
	}
	function zones(extra) {
		let list = [];
		try {
			list = Intl.supportedValuesOf("timeZone");
		} catch (e) {
			list = [];
		}
		const all = new Set([...list, ...extra.filter(Boolean), "UTC"]);
		return [...all].sort();
	}
	function ymd(date, zone) {
		return new Intl.DateTimeFormat("en-CA", {
			timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
		}).format(date);
	}
	function addDays(day, n) {
		const d = new Date(day + "T12:00:00Z");
		d.setUTCDate(d.getUTCDate() + n);
		return d.toISOString().slice(0, 10);
	}
	function timeText(iso, zone) {
		return new Intl.DateTimeFormat(undefined, { timeZone: zone, hour: "2-digit", minute: "2-digit" })
			.format(new Date(iso));
	}
	function dayText(day) {
		return new Intl.DateTimeFormat(undefined, {
			timeZone: "UTC", weekday: "long", day: "numeric", month: "long",
		}).format(new Date(day + "T12:00:00Z"));
	}
	function longText(iso, zone) {
		const text = new Intl.DateTimeFormat(undefined, {
			timeZone: zone, weekday: "long", day: "numeric", month: "long", year: "numeric",
			hour: "2-digit", minute: "2-digit",
		}).format(new Date(iso));
		return `${text} (${zone})`;
	}

	async function call(method, path, body) {
		const headers = { Accept: "application/json" };
		if (body !== undefined) headers["Content-Type"] = "application/json";
		const csrf = window.frappe && window.frappe.csrf_token;
		if (csrf && csrf !== "None") headers["X-Frappe-CSRF-Token"] = csrf;
		let response;
		try {
			response = await fetch(API + path, {
				method, headers, credentials: "same-origin",
				body: body === undefined ? undefined : JSON.stringify(body),
			});
		} catch (e) {
			return { ok: false, status: 0, error: { message: T.offline } };
		}
		let data = null;
		try {
			data = await response.json();
		} catch (e) {
			data = null;
		}
		const error = (data && data.error) || { message: T.generic, param: null };
		if (response.status === 429) {
			const minutes = Math.max(1, Math.ceil((+response.headers.get("Retry-After") || 60) / 60));
			error.message = format(T.slow_down, minutes);
		}
		return { ok: response.ok, status: response.status, data, error };
	}

	class Picker {
		/* root holds [data-day] (date input), [data-zone] (select), [data-slots] (list),
		   [data-slots-note] (live text). onChange(start or null) follows the choice. `type` (a slug)
		   and `host` (a host's handle; changeable, then load() again) narrow the free times. */
		constructor(root, { duration, type, host, siteZone, onChange }) {
			this.root = root;
			this.day = root.querySelector("[data-day]");
			this.zoneSelect = root.querySelector("[data-zone]");
			this.list = root.querySelector("[data-slots]");
			this.note = root.querySelector("[data-slots-note]");
			this.duration = duration;
			this.type = type || null;
			this.host = host || null;
			this.onChange = onChange || (() => {});
			this.selected = null;
			this.request = 0;
			const own = browserZone() || siteZone;
			this.zoneSelect.replaceChildren(
				...zones([own, siteZone]).map((zone) => new Option(zone.replace(/_/g, " "), zone, false, zone === own))
			);
			this.resetDay();
			this.day.addEventListener("change", () => this.load());
			this.zoneSelect.addEventListener("change", () => {
				this.resetDay(this.day.value);
				this.load();
			});
		}
		get zone() {
			return this.zoneSelect.value;
		}
		resetDay(keep) {
			const today = ymd(new Date(), this.zone);
			this.day.min = today;
			this.day.value = keep && keep >= today ? keep : today;
		}
		async load() {
			const first = this.day.value || ymd(new Date(), this.zone);
			const mine = ++this.request;
			this.choose(null);
			this.list.replaceChildren();
			this.list.setAttribute("aria-busy", "true");
			this.note.textContent = T.loading;
			let query = `start=${first}&end=${addDays(first, 13)}&time_zone=${encodeURIComponent(this.zone)}`;
			if (this.duration) query += `&duration=${this.duration}`;
			if (this.type) query += `&type=${encodeURIComponent(this.type)}`;
			if (this.host) query += `&host=${encodeURIComponent(this.host)}`;
			const answer = await call("GET", `/slots?${query}`);
			if (mine !== this.request) return; // a later choice of day or zone won
			this.list.setAttribute("aria-busy", "false");
			if (!answer.ok) {
				this.note.textContent = answer.error.message;
				return;
			}
			const byDay = {};
			for (const slot of answer.data.data) {
				const day = ymd(new Date(slot.start), this.zone);
				(byDay[day] = byDay[day] || []).push(slot);
			}
			this.render(first, byDay);
		}
		render(day, byDay) {
			const slots = byDay[day] || [];
			if (!slots.length) {
				const next = Object.keys(byDay).sort()[0];
				this.note.textContent = format(T.none_on_day, dayText(day)) + (next ? "" : " " + T.none_soon);
				if (next) {
					const item = document.createElement("li");
					const button = document.createElement("button");
					button.type = "button";
					button.className = "btn btn-default btn-sm";
					button.textContent = format(T.next_free, dayText(next));
					button.addEventListener("click", () => {
						this.day.value = next;
						this.render(next, byDay);
						const first = this.list.querySelector("input");
						if (first) first.focus();
					});
					item.append(button);
					this.list.append(item);
				}
				return;
			}
			this.note.textContent =
				slots.length === 1 ? format(T.one_free_on, dayText(day)) : format(T.free_on, slots.length, dayText(day));
			const items = slots.map((slot, i) => {
				const item = document.createElement("li");
				const input = document.createElement("input");
				input.type = "radio";
				input.name = "slot";
				input.id = `slot-${i}`;
				input.value = slot.start;
				input.addEventListener("change", () => this.choose(slot.start));
				const label = document.createElement("label");
				label.htmlFor = input.id;
				label.textContent = timeText(slot.start, this.zone);
				item.append(input, label);
				return item;
			});
			this.list.replaceChildren(...items);
		}
		choose(start) {
			this.selected = start;
			this.onChange(start);
		}
		focus() {
			const target = this.list.querySelector("input") || this.day;
			target.focus();
		}
	}

	function show(element, text, kind) {
		element.textContent = text;
		element.className = `alert alert-${kind || "info"} book-message`;
		element.hidden = !text;
	}

	window.crmBooking = { Picker, call, show, format, longText, browserZone };
})();
