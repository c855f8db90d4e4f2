/* page.js - umpa live: follows umpa processes over their control API (tools/http_ctl.h).
 *
 * Each followed process is an "endpoint": its base URL (http://ADDR:PORT).
 * The page opens one EventSource on ENDPOINT/events (events "hello",
 * "stats", "param", "log"; the browser reconnects by itself), reads
 * ENDPOINT/params once per process it meets (a new pid), and changes a
 * parameter with PATCH ENDPOINT/params {"name": value} at once when its
 * control moves.  There is no polling loop: every update is pushed.
 *
 * The endpoints: this page's own origin (unless ?self=0) and every ?ep=ADDR:PORT
 * (repeatable or comma-separated), plus those added with the Follow box (the
 * URL is updated so a reload or a bookmark keeps them).  Other processes
 * answer this page because they accept an Origin that is loopback or inside
 * their --http-allow (see umpa(1), --http).
 *
 * Clear zeroes the charts and tables on this page only (a baseline is taken;
 * the processes keep counting, and other viewers see no change).  Reset sets
 * every parameter of that process back to its declared default.
 */
'use strict';

const MAX_POINTS = 180; /* 3 minutes of the 1 s stats events */
const MAX_LOG = 200;
const MAX_SERIES = 10; /* per chart: the busiest counters of a group */
const TILES = [
	/* label, test on a counter name (the sum of the matches is shown) */
	['in', (n) => n === 'rx'], /* packets the process received */
	['out', (n) => n === 'tx'], /* and sent */
	['bytes in', (n) => n === 'rx.bytes' || /\.bytes_in$/.test(n)], /* run: frames; proxy: both directions */
	['bytes out', (n) => n === 'tx.bytes' || /\.bytes_out$/.test(n)],
	['forwarded', (n) => /(^|\.)forwarded$/.test(n)],
	['dropped', (n) => /(^|\.)(dropped|rate_dropped)$/.test(n)],
	['delayed', (n) => /(^|\.)delayed$/.test(n)],
	['duplicated', (n) => /(^|\.)duplicated$/.test(n)],
	['retransmitted', (n) => /(^|\.)retransmitted$/.test(n)],
	['errors', (n) => /(^|\.)errors$/.test(n)],
];
const COLORS = ['#0b63c5', '#d9480f', '#2b8a3e', '#862e9c', '#e8590c', '#1098ad', '#c2255c', '#5c940d', '#495057', '#f08c00'];

const hasChart = () => typeof window.Chart === 'function';
const perSecond = () => document.getElementById('per-second').checked;
const endpoints = new Map(); /* base URL -> Endpoint */

function baseOf(addr) {
	addr = addr.trim().replace(/\/+$/, '');
	return /^https?:\/\//i.test(addr) ? addr : 'http://' + addr;
}

function el(tag, attrs, text) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
	if (text !== undefined) e.textContent = text;
	return e;
}

function fmt(v) {
	if (!Number.isFinite(v)) return '';
	if (Number.isInteger(v)) return v.toLocaleString('en-US');
	return v.toLocaleString('en-US', {maximumFractionDigits: 1});
}

function fmtBytes(v) {
	const units = ['B', 'kB', 'MB', 'GB', 'TB'];
	let i = 0;
	while (Math.abs(v) >= 1000 && i < units.length - 1) {
		v /= 1000;
		i++;
	}
	return (i ? v.toFixed(v < 10 ? 2 : 1) : String(v)) + ' ' + units[i];
}

/* The chart a counter belongs to: "rule.N" for rule.N.in/out, the first
 * component of a dotted name ("ab", "segments"), "totals" for the others,
 * with " bytes" added for byte counters; host.ADDR.* go to the hosts table,
 * not a chart. */
function groupOf(name) {
	const parts = name.split('.');
	if (parts[0] === 'host' || parts[0] === 'hosts') return null;
	let g = parts[0] === 'rule' && parts.length > 2 ? 'rule.' + parts[1] : parts.length > 1 ? parts[0] : 'totals';
	/* bytes beside packets would flatten the packets: a chart of their own */
	if (g !== 'bytes' && /bytes/.test(name)) g += ' bytes';
	return g;
}

/* How a parameter is edited, from its declared type, range (min/max when the
 * process declares them) and help text. */
function controlKind(p, name) {
	const t = p.type;
	const num = t === 'number' || t === 'int';
	if (t === 'bool') return {kind: 'bool'};
	if (num && p.min !== undefined && p.max !== undefined)
		return {kind: 'slider', min: +p.min, max: +p.max, step: t === 'int' ? 1 : (+p.max - +p.min) / 1000};
	const help = p.help || '';
	if (t === 'number' && (/0\s*\.\.\s*1\b/.test(help) || /probabilit/i.test(help)))
		return {kind: 'slider', min: 0, max: 1, step: 0.01, percent: true};
	if (t === 'number' && (/seconds?\b/i.test(help) || /(^|\.)(delay|jitter)$/.test(name))) {
		const v = parseFloat(p.value) || 0, d = parseFloat(p.default) || 0;
		const max = Math.max(1, 4 * v, 4 * d);
		return {kind: 'slider', min: 0, max: max, step: max / 1000, seconds: true};
	}
	if (num) return {kind: 'number', step: t === 'int' ? 1 : 'any'};
	/* a string whose help lists its choices ("jitter shape: uniform, normal, pareto") */
	const m = /:\s*([a-z0-9_-]+(?:,\s*[a-z0-9_-]+)+)\s*(\([^)]*\)\s*)?$/i.exec(help);
	if (t === 'string' && m) {
		const choices = m[1].split(/,\s*/);
		if (choices.includes(p.value) || p.value === '') return {kind: 'select', choices: choices};
	}
	return {kind: 'text'};
}

class Endpoint {
	constructor(base) {
		this.base = base;
		this.pid = null;
		this.last = null; /* the latest counters */
		this.prev = null; /* and the time and counters before them, for rates */
		this.baseline = {};
		this.history = []; /* {t, c} */
		this.charts = new Map(); /* group -> {chart, names} */
		this.rows = new Map(); /* counter -> <tr> */
		this.hostRows = new Map();
		this.controls = new Map(); /* parameter -> {p, set(value)} */
		this.params = null;
		this.t0 = Date.now();
		this.build();
		this.connect();
	}

	build() {
		const s = document.getElementById('endpoint-tpl').content.firstElementChild.cloneNode(true);
		this.el = s;
		s.dataset.ep = this.base;
		s.querySelector('.ep-addr').textContent = this.base.replace(/^https?:\/\//, '');
		s.querySelector('.ep-title').textContent = this.base.replace(/^https?:\/\//, '');
		const tiles = s.querySelector('.tiles');
		this.tiles = new Map();
		for (const [label] of TILES) {
			const t = el('div', {class: 'tile', 'data-tile': label});
			const b = el('b', {}, '0');
			t.append(b, el('span', {}, label));
			tiles.append(t);
			this.tiles.set(label, b);
		}
		const tok = s.querySelector('.ep-token');
		tok.value = sessionStorage.getItem('umpa-token:' + this.base) || '';
		tok.addEventListener('change', () => sessionStorage.setItem('umpa-token:' + this.base, tok.value));
		s.querySelector('.ep-clear').addEventListener('click', () => this.clear());
		s.querySelector('.ep-reset').addEventListener('click', () => this.reset());
		s.querySelector('.ep-close').addEventListener('click', () => unfollow(this.base));
		document.getElementById('endpoints').append(s);
	}

	state(st, text) {
		const e = this.el.querySelector('.ep-state');
		e.dataset.state = st;
		e.textContent = text || st;
	}

	msg(text, ok) {
		const m = this.el.querySelector('.ep-msg');
		m.textContent = text || '';
		m.classList.toggle('ok', !!ok);
	}

	connect() {
		const es = new EventSource(this.base + '/events');
		this.es = es;
		es.addEventListener('open', () => this.state('live'));
		es.addEventListener('error', () => {
			/* the browser retries by itself while readyState is CONNECTING; CLOSED
			 * means a refusal (403: this page's origin or address) - ask why */
			if (es.readyState !== EventSource.CLOSED) {
				this.state('reconnecting');
				return;
			}
			this.state('gone', 'refused');
			fetch(this.base + '/stats', {cache: 'no-store'})
				.then((r) => r.json())
				.then((d) => this.msg(d.error ? d.status + ': ' + d.error : 'the event stream closed'))
				.catch((e) => this.msg('cannot reach ' + this.base + ': ' + e.message));
		});
		es.addEventListener('hello', (ev) => this.onHello(JSON.parse(ev.data)));
		es.addEventListener('stats', (ev) => this.onStats(JSON.parse(ev.data)));
		es.addEventListener('param', (ev) => {
			const d = JSON.parse(ev.data);
			const c = this.controls.get(d.name);
			if (c) c.set(d.value);
		});
		es.addEventListener('log', (ev) => this.onLog(JSON.parse(ev.data)));
		es.addEventListener('conns', (ev) => this.onConns(JSON.parse(ev.data)));
	}

	close() {
		this.es.close();
		for (const {chart} of this.charts.values()) chart.destroy();
		this.el.remove();
	}

	onHello(h) {
		this.el.querySelector('.ep-title').textContent = h.title || 'umpa';
		this.el.querySelector('.ep-addr').textContent = (h.bound || this.base) + ' pid ' + h.pid;
		if (this.pid !== h.pid) { /* a new process behind the address: its counters from 0, its parameters afresh */
			if (this.pid !== null) {
				this.last = null;
				this.clear(true);
				this.baseline = {};
			}
			this.pid = h.pid;
			if (h.params === false) this.el.querySelector('.params').textContent = 'none';
			else this.loadParams();
		}
	}

	headers(json) {
		const h = {};
		if (json) h['Content-Type'] = 'application/json';
		const tok = this.el.querySelector('.ep-token').value;
		if (tok) h['Authorization'] = 'Bearer ' + tok;
		return h;
	}

	async loadParams() {
		try {
			const r = await fetch(this.base + '/params', {cache: 'no-store'});
			const d = await r.json();
			if (!r.ok) {
				this.params = {};
				this.el.querySelector('.params').textContent = d.error || 'no parameters';
				return;
			}
			this.params = d;
			this.renderParams();
		} catch (e) {
			this.msg('parameters: ' + e.message);
		}
	}

	renderParams() {
		const box = this.el.querySelector('.params');
		box.textContent = '';
		this.controls.clear();
		const names = Object.keys(this.params);
		if (!names.length) box.textContent = 'none';
		/* flaky-link's per-direction overrides (ab.NAME, ba.NAME) fold away under their direction */
		const dirs = new Map();
		for (const name of names) {
			const m = /^([a-z]+)\.(.+)$/.exec(name);
			let parent = box;
			if (m && names.includes(m[2])) {
				if (!dirs.has(m[1])) {
					const d = el('details', {class: 'dir'});
					d.append(el('summary', {}, m[1] + ' only (overrides)'));
					const inner = el('div', {class: 'params'});
					d.append(inner);
					box.append(d);
					dirs.set(m[1], inner);
				}
				parent = dirs.get(m[1]);
			}
			parent.append(this.control(name, this.params[name]));
		}
	}

	control(name, p) {
		const row = el('div', {class: 'param', 'data-param': name});
		const id = 'p-' + Math.random().toString(36).slice(2);
		row.append(el('label', {for: id, title: p.help || ''}, name));
		const ctl = el('div', {class: 'ctl'});
		row.append(ctl);
		if (p.help) row.append(el('div', {class: 'help'}, p.help + (p.default !== '' ? ' (default ' + p.default + ')' : '')));
		const k = controlKind(p, name);
		const send = (v) => this.patch(name, v, row);
		let set;
		if (k.kind === 'bool') {
			const cb = el('input', {type: 'checkbox', id: id, 'data-param': name});
			cb.addEventListener('change', () => send(cb.checked));
			set = (v) => { cb.checked = String(v) === 'true'; };
			ctl.append(cb);
		} else if (k.kind === 'slider') {
			const r = el('input', {type: 'range', id: id, min: k.min, max: k.max, step: k.step, 'data-param': name});
			const out = el('output', {for: id});
			const numBox = el('input', {type: 'number', step: 'any', 'aria-label': name + ' value'});
			const show = () => { out.textContent = k.percent ? Math.round(r.value * 1000) / 10 + ' %' : k.seconds ? fmt(r.value * 1000) + ' ms' : r.value; };
			let timer = null;
			/* dragging sends at most every 150 ms; letting go (or a key) sends at once */
			r.addEventListener('input', () => {
				show();
				numBox.value = r.value;
				if (!timer) timer = setTimeout(() => { timer = null; send(Number(r.value)); }, 150);
			});
			r.addEventListener('change', () => {
				clearTimeout(timer);
				timer = null;
				send(Number(r.value));
			});
			numBox.addEventListener('change', () => {
				if (numBox.value === '') return;
				if (Number(numBox.value) > Number(r.max)) r.max = numBox.value;
				r.value = numBox.value;
				show();
				send(Number(numBox.value));
			});
			set = (v) => {
				if (document.activeElement === r) return; /* the user is moving it */
				const n = v === '' ? 0 : Number(v);
				if (n > Number(r.max)) r.max = n;
				r.value = n;
				numBox.value = v;
				show();
			};
			ctl.append(r, out, numBox);
		} else if (k.kind === 'select') {
			const sel = el('select', {id: id, 'data-param': name});
			if (!k.choices.includes(p.default)) sel.append(el('option', {value: ''}, '(default)'));
			for (const c of k.choices) sel.append(el('option', {value: c}, c));
			sel.addEventListener('change', () => send(sel.value));
			set = (v) => { sel.value = v; };
			ctl.append(sel);
		} else {
			const inp = el('input', {type: k.kind === 'number' ? 'number' : 'text', id: id, 'data-param': name});
			if (k.step) inp.step = k.step;
			inp.addEventListener('change', () => send(k.kind === 'number' && inp.value !== '' ? Number(inp.value) : inp.value));
			set = (v) => { if (document.activeElement !== inp) inp.value = v; };
			ctl.append(inp);
		}
		set(p.value);
		this.controls.set(name, {p: p, set: set});
		return row;
	}

	/* Changes go one PATCH at a time, in order; what moves meanwhile is
	 * coalesced into the next one (the latest value of each parameter). */
	async patch(name, value, row) {
		this.pending = this.pending || new Map();
		this.pending.set(name, {value: value, row: row});
		if (this.busy) return;
		this.busy = true;
		while (this.pending.size) {
			const batch = this.pending;
			this.pending = new Map();
			const obj = {};
			let r = null;
			for (const [n, v] of batch) {
				obj[n] = v.value;
				r = v.row;
			}
			await this.send(obj, batch.size === 1 ? r : null);
		}
		this.busy = false;
	}

	/* PATCH /params; the reply (every parameter) or the error shows at once. */
	async send(obj, row) {
		try {
			const r = await fetch(this.base + '/params', {method: 'PATCH', headers: this.headers(true), body: JSON.stringify(obj)});
			const d = await r.json();
			if (row) row.classList.toggle('err', !r.ok);
			if (!r.ok) {
				if (r.status === 401) this.el.querySelector('.ep-access').open = true;
				this.msg(r.status + ': ' + (d.error || 'refused'));
				return false;
			}
			this.params = d;
			for (const [n, p] of Object.entries(d)) {
				const c = this.controls.get(n);
				if (c) c.set(p.value);
			}
			this.msg('set ' + Object.keys(obj).map((n) => n + ' = ' + obj[n]).join(', '), true);
			return true;
		} catch (e) {
			this.msg('PATCH /params: ' + e.message);
			return false;
		}
	}

	reset() {
		if (!this.params) return;
		const obj = {};
		for (const [n, p] of Object.entries(this.params))
			if (p.value !== p.default) obj[n] = p.default; /* the declared text: checked as its type */
		if (Object.keys(obj).length) this.send(obj, null);
		else this.msg('every parameter is at its default', true);
	}

	clear(quiet) {
		if (this.last) this.baseline = Object.assign({}, this.last);
		this.history = [];
		this.prev = null;
		for (const {chart} of this.charts.values()) chart.destroy();
		this.charts.clear();
		this.el.querySelector('.charts').textContent = '';
		this.el.querySelector('.log').textContent = '';
		if (this.last) this.onStats(this.last, true);
		if (!quiet) this.msg('cleared (the process keeps counting)', true);
	}

	value(c, n) {
		return (c[n] || 0) - (this.baseline[n] || 0);
	}

	onStats(c, redraw) {
		const now = (Date.now() - this.t0) / 1000;
		if (!redraw) {
			this.prev = this.last ? {t: this.lastT, c: this.last} : null;
			this.last = c;
			this.lastT = now;
			this.history.push({t: now, c: c});
			if (this.history.length > MAX_POINTS) this.history.shift();
		}
		const names = Object.keys(c).sort();
		const dt = this.prev ? now - this.prev.t : 0;
		const rate = (n) => (this.prev && dt > 0 ? ((c[n] || 0) - (this.prev.c[n] || 0)) / dt : 0);
		/* tiles */
		for (const [label, test] of TILES) {
			let sum = 0;
			for (const n of names) if (test(n)) sum += this.value(c, n);
			this.tiles.get(label).textContent = label.startsWith('bytes') ? fmtBytes(sum) : fmt(sum);
		}
		/* the counters table */
		const tbody = this.el.querySelector('.counters tbody');
		for (const n of names) {
			let tr = this.rows.get(n);
			if (!tr) {
				tr = el('tr', {'data-counter': n});
				tr.append(el('td', {}, n), el('td'), el('td'));
				this.rows.set(n, tr);
				const after = [...this.rows.keys()].sort().find((m) => m > n);
				tbody.insertBefore(tr, after ? this.rows.get(after) : null);
			}
			tr.children[1].textContent = fmt(this.value(c, n));
			tr.children[2].textContent = fmt(rate(n));
		}
		this.hosts(c, names);
		if (hasChart()) this.draw(names);
	}

	/* Simulated hosts (host.ADDR.tx / host.ADDR.rx of umpa run) */
	hosts(c, names) {
		const tbody = this.el.querySelector('.hosts tbody');
		for (const n of names) {
			const m = /^host\.(.+)\.(tx|rx)$/.exec(n);
			if (!m) continue;
			let tr = this.hostRows.get(m[1]);
			if (!tr) {
				tr = el('tr', {'data-host': m[1]});
				tr.append(el('td', {}, m[1]), el('td'), el('td'));
				this.hostRows.set(m[1], tr);
				tbody.append(tr);
				this.el.querySelector('.hosts').hidden = false;
				this.el.querySelector('.hosts-h').hidden = false;
			}
			tr.children[m[2] === 'tx' ? 1 : 2].textContent = fmt(this.value(c, n));
		}
	}

	draw(names) {
		const groups = new Map();
		for (const n of names) {
			const g = groupOf(n);
			if (g === null) continue;
			if (!groups.has(g)) groups.set(g, []);
			groups.get(g).push(n);
		}
		const ps = perSecond();
		for (const [g, members] of groups) {
			/* the busiest members that ever moved: a chart of flat zeros says nothing */
			const moved = members.filter((n) => this.history.some((h) => this.value(h.c, n) !== 0));
			if (!moved.length) continue;
			moved.sort((a, b) => this.value(this.last, b) - this.value(this.last, a));
			const show = moved.slice(0, MAX_SERIES).sort();
			let ch = this.charts.get(g);
			if (!ch) {
				const box = el('div', {class: 'chart', 'data-group': g});
				box.append(el('h4', {}, g));
				const cv = el('canvas', {'aria-label': 'chart of ' + g, role: 'img'});
				box.append(cv);
				const host = this.el.querySelector('.charts');
				const after = [...this.charts.keys()].sort().find((m) => m > g);
				host.insertBefore(box, after ? this.charts.get(after).box : null);
				const chart = new Chart(cv, {
					type: 'line',
					data: {datasets: []},
					options: {
						animation: false,
						maintainAspectRatio: false,
						normalized: true,
						parsing: false,
						elements: {point: {radius: 0}, line: {borderWidth: 1.5}},
						scales: {
							x: {type: 'linear', ticks: {maxTicksLimit: 6, callback: (v) => v + ' s'}},
							y: {beginAtZero: true, ticks: {maxTicksLimit: 5}},
						},
						plugins: {legend: {labels: {boxWidth: 10, font: {size: 10}}}},
					},
				});
				ch = {chart: chart, box: box, names: ''};
				this.charts.set(g, ch);
			}
			const key = show.join(',') + (ps ? '/s' : '');
			const data = (n) => {
				const pts = [];
				for (let i = 0; i < this.history.length; i++) {
					const h = this.history[i];
					if (!ps) pts.push({x: Math.round(h.t * 10) / 10, y: this.value(h.c, n)});
					else if (i > 0) {
						const p = this.history[i - 1];
						pts.push({x: Math.round(h.t * 10) / 10, y: ((h.c[n] || 0) - (p.c[n] || 0)) / Math.max(h.t - p.t, 0.001)});
					}
				}
				return pts;
			};
			if (ch.names !== key) {
				ch.chart.data.datasets = show.map((n, i) => ({label: n.startsWith(g + '.') ? n.slice(g.length + 1) : n, data: data(n), borderColor: COLORS[i % COLORS.length], backgroundColor: COLORS[i % COLORS.length]}));
				ch.names = key;
			} else {
				show.forEach((n, i) => { ch.chart.data.datasets[i].data = data(n); });
			}
			ch.chart.update('none');
		}
	}

	/* The open connections ({"total", "list"}: the proxy's), replaced at every event */
	onConns(d) {
		const tbody = this.el.querySelector('.conns tbody');
		tbody.textContent = '';
		for (const c of d.list || []) {
			const tr = el('tr', {'data-conn': c.id});
			const who = c.client + ' → ' + c.target + (c.tls ? ' (TLS' + (c.sni ? ' ' + c.sni : '') + ')' : '');
			tr.append(el('td', {}, String(c.id)), el('td', {}, who), el('td', {}, fmt(c.age) + ' s'),
				el('td', {}, fmtBytes(c['c2s.bytes_out'] || 0)), el('td', {}, fmtBytes(c['s2c.bytes_out'] || 0)));
			tbody.append(tr);
		}
		const shown = (d.list || []).length;
		this.el.querySelector('.conns-total').textContent = d.total > shown ? '(' + shown + ' of ' + d.total + ')' : '(' + (d.total || 0) + ')';
		this.el.querySelector('.conns').hidden = false;
		this.el.querySelector('.conns-h').hidden = false;
	}

	onLog(l) {
		const ol = this.el.querySelector('.log');
		const li = el('li', {class: l.level || 'info'}, (typeof l.ts === 'number' ? l.ts.toFixed(3) + ' ' : '') + l.line);
		ol.append(li);
		while (ol.children.length > MAX_LOG) ol.firstElementChild.remove();
		ol.scrollTop = ol.scrollHeight;
	}
}

function writeURL() {
	const q = new URLSearchParams(location.search);
	q.delete('ep');
	let self = false;
	for (const base of endpoints.keys()) {
		if (base === location.origin) self = true;
		else q.append('ep', base.replace(/^http:\/\//, ''));
	}
	if (self) q.delete('self');
	else q.set('self', '0');
	history.replaceState(null, '', location.pathname + (q.toString() ? '?' + q : '') + location.hash);
}

function follow(addr) {
	const base = baseOf(addr);
	if (!endpoints.has(base)) endpoints.set(base, new Endpoint(base));
	writeURL();
}

function unfollow(base) {
	const e = endpoints.get(base);
	if (e) e.close();
	endpoints.delete(base);
	writeURL();
}

function start() {
	if (!hasChart()) document.getElementById('nochart').hidden = false;
	const q = new URLSearchParams(location.search);
	const list = [];
	if (q.get('self') !== '0') list.push(location.origin);
	for (const v of q.getAll('ep')) for (const a of v.split(',')) if (a.trim()) list.push(baseOf(a));
	for (const base of new Set(list)) endpoints.set(base, new Endpoint(base));
	document.getElementById('follow').addEventListener('submit', (ev) => {
		ev.preventDefault();
		const inp = document.getElementById('follow-addr');
		if (inp.value.trim()) follow(inp.value);
		inp.value = '';
	});
	document.getElementById('clear-all').addEventListener('click', () => { for (const e of endpoints.values()) e.clear(); });
	document.getElementById('per-second').addEventListener('change', () => {
		for (const e of endpoints.values()) if (e.last) e.onStats(e.last, true);
	});
}

start();
