// toxi_node.js - Toxiproxy's own Node client (toxiproxy-node-client, unchanged) against `umpa proxy --api`:
// version, create a proxy, add a latency toxic, measure it through the proxy, update it, remove it,
// remove the proxy.  Usage: node toxi_node.js MODULES_DIR API_HOST:PORT ECHO_PORT
"use strict";
const path = require("path");
const net = require("net");
const { Toxiproxy } = require(path.join(process.argv[2], "toxiproxy-node-client"));
const api = "http://" + process.argv[3];
const echoPort = Number(process.argv[4]);

// median round trip (ms) of 5 one-line echoes through port
function rtt(port) {
	return new Promise((resolve, reject) => {
		const s = net.connect(port, "127.0.0.1");
		const times = [];
		let t0 = 0;
		let got = "";
		const timer = setTimeout(() => reject(new Error("rtt: no answer in 10 s")), 10000);
		const ping = () => {
			got = "";
			t0 = process.hrtime.bigint();
			s.write("ping\n");
		};
		s.setNoDelay(true);
		s.on("connect", ping);
		s.on("error", reject);
		s.on("data", (d) => {
			got += d;
			if (got.length < 5) return;
			times.push(Number(process.hrtime.bigint() - t0) / 1e6);
			if (times.length < 5) return ping();
			clearTimeout(timer);
			s.destroy();
			times.sort((a, b) => a - b);
			resolve(times[2]);
		});
	});
}

function check(cond, what) {
	console.log((cond ? "ok: " : "FAIL: ") + what);
	if (!cond) process.exitCode = 1;
}

(async () => {
	const tp = new Toxiproxy(api);
	const version = await tp.getVersion();
	check(/"version"/.test(version), "getVersion: " + version.trim());
	const proxy = await tp.createProxy({ name: "node", listen: "localhost:0", upstream: "127.0.0.1:" + echoPort });
	const port = Number(proxy.listen.split(":")[1]);
	check(port > 0 && proxy.enabled === true, "createProxy: listen " + proxy.listen);
	const base = await rtt(port);
	const toxic = await proxy.addToxic({ type: "latency", stream: "downstream", toxicity: 1, attributes: { latency: 250, jitter: 0 } });
	check(toxic.name === "latency_downstream" && toxic.attributes.latency === 250, "addToxic: " + JSON.stringify(toxic.toJson()));
	const slow = await rtt(port);
	const added = slow - base;
	// 250 ms +-10 % on top of the relay's own round trip (bounded by the one measured before)
	check(slow >= 225 && slow <= 275 + base, "latency 250 measured: +" + added.toFixed(1) + " ms (" + base.toFixed(1) + " -> " + slow.toFixed(1) + ")");
	const again = await (await tp.get("node")).getToxic("latency_downstream");
	check(again.type === "latency" && again.attributes.latency === 250, "getToxic: the toxic is there");
	const up = await toxic.update({ attributes: { latency: 100 } });
	check(up.attributes.latency === 100, "toxic.update: latency 100");
	await up.remove();
	const fast = await rtt(port);
	check(fast < 60, "toxic.remove: back to " + fast.toFixed(1) + " ms");
	const all = await tp.getAll();
	const raw = (await tp.getApi().get(api + "/proxies/node")).data;
	check("node" in all && raw.toxics.length === 0, "getAll: the proxy, and no toxics left");
	await proxy.remove();
	let gone = false;
	try {
		await tp.get("node");
	} catch (e) {
		gone = /404/.test(e.message);
	}
	check(gone, "proxy.remove: then get fails with 404");
})().catch((e) => {
	console.log("FAIL: " + e.message);
	process.exitCode = 1;
});
