// The live dashboard page (GET /dashboard): one HTML document with its script inline, drawing with
// uPlot, which the service serves from node_modules at /dashboard/uplot.* (no CDN, no network).
// The page opens an EventSource on /v1/live/stream and redraws on every snapshot (live.ts).
// Kept as a string so the built service (dist/) needs no copied asset.
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>iMatch-TS live</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/uplot.min.css">
<style>
  :root { color-scheme: dark; }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: #0e1116; color: #e6edf3; }
  header { display: flex; align-items: baseline; gap: 1rem; padding: .6rem 1rem; border-bottom: 1px solid #30363d; }
  header h1 { font-size: 1.1rem; margin: 0; }
  #status { color: #8b949e; }
  #status.live { color: #3fb950; }
  main { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: .8rem; padding: .8rem; }
  section { background: #161b22; border: 1px solid #30363d; border-radius: 6px; padding: .6rem .8rem; }
  h2 { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; color: #8b949e; margin: 0 0 .4rem; }
  .kpis { display: grid; grid-template-columns: repeat(4, 1fr); gap: .4rem; grid-column: 1 / -1; }
  .kpi { background: #161b22; border: 1px solid #30363d; border-radius: 6px; padding: .5rem .8rem; }
  .kpi b { display: block; font-size: 1.6rem; font-variant-numeric: tabular-nums; }
  .kpi span { color: #8b949e; font-size: .8rem; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  td, th { padding: .15rem .3rem; text-align: right; border-bottom: 1px solid #21262d; }
  td:first-child, th:first-child { text-align: left; max-width: 14rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  th { color: #8b949e; font-weight: normal; }
</style>
</head>
<body>
<header><h1>iMatch-TS live</h1><span id="status">connecting…</span><span id="day"></span></header>
<main>
  <div class="kpis">
    <div class="kpi"><span>queries/s</span><b id="k-qps">–</b></div>
    <div class="kpi"><span>impressions/s</span><b id="k-ips">–</b></div>
    <div class="kpi"><span>valid clicks/s · invalid/s</span><b id="k-cps">–</b></div>
    <div class="kpi"><span>CTR last 5 min · today</span><b id="k-ctr">–</b></div>
    <div class="kpi"><span>queries today</span><b id="k-tq">–</b></div>
    <div class="kpi"><span>impressions today</span><b id="k-ti">–</b></div>
    <div class="kpi"><span>clicks today · invalid</span><b id="k-tc">–</b></div>
    <div class="kpi"><span>cost today</span><b id="k-cost">–</b></div>
  </div>
  <section><h2>Queries and impressions per second</h2><div id="c-traffic"></div></section>
  <section><h2>Clicks per second (valid, invalid)</h2><div id="c-clicks"></div></section>
  <section><h2>Charged per minute</h2><div id="c-spend"></div></section>
  <section><h2>Invalid clicks by reason, last 5 min</h2><table id="t-reasons"></table></section>
  <section><h2>Top keywords, last 5 min</h2><table id="t-kw5"></table></section>
  <section><h2>Top keywords, today</h2><table id="t-kwd"></table></section>
  <section><h2>Top advertisers, last 5 min</h2><table id="t-ad5"></table></section>
  <section><h2>Top advertisers, today</h2><table id="t-add"></table></section>
  <section><h2>Behind the topics</h2><table id="t-lag"></table></section>
</main>
<script src="/dashboard/uplot.min.js"></script>
<script src="/dashboard/app.js"></script>
</body>
</html>
`;

export const DASHBOARD_JS = `'use strict';
(function () {
  var fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
  var money = function (micros) { return (micros / 1e6).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }); };
  var pct = function (x) { return (x * 100).toFixed(2) + '%'; };
  var $ = function (id) { return document.getElementById(id); };
  var width = function (id) { return Math.max(320, $(id).clientWidth || 400); };
  var charts = {};
  function chart(id, series, data) {
    if (!charts[id]) {
      charts[id] = new uPlot({ width: width(id), height: 180, series: [{}].concat(series),
        axes: [{ stroke: '#8b949e', grid: { stroke: '#21262d' } }, { stroke: '#8b949e', grid: { stroke: '#21262d' } }],
        legend: { live: false } }, data, $(id));
    } else charts[id].setData(data);
  }
  function table(id, head, rows) {
    var h = '<tr>' + head.map(function (c) { return '<th>' + c + '</th>'; }).join('') + '</tr>';
    $(id).innerHTML = h + rows.map(function (r) {
      return '<tr>' + r.map(function (c) { return '<td>' + String(c).replace(/[&<>]/g, function (x) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;' }[x]; }) + '</td>'; }).join('') + '</tr>';
    }).join('');
  }
  function tops(id, rows) {
    table(id, ['', 'impr.', 'clicks', 'cost'], rows.map(function (r) { return [r.key || '(none)', fmt.format(r.impressions), fmt.format(r.clicks), money(r.costMicros)]; }));
  }
  function draw(s) {
    $('day').textContent = s.day + ' (' + s.timeZone + '), today\u2019s figures as of ' + new Date(s.todayAsOfMs).toLocaleTimeString();
    $('k-qps').textContent = fmt.format(s.rates.queries);
    $('k-ips').textContent = fmt.format(s.rates.impressions);
    $('k-cps').textContent = fmt.format(s.rates.validClicks) + ' · ' + fmt.format(s.rates.invalidClicks);
    $('k-ctr').textContent = pct(s.last5m.ctr) + ' · ' + pct(s.today.ctr);
    $('k-tq').textContent = fmt.format(s.today.queries);
    $('k-ti').textContent = fmt.format(s.today.impressions);
    $('k-tc').textContent = fmt.format(s.today.clicks) + ' · ' + fmt.format(s.today.invalidClicks);
    $('k-cost').textContent = money(s.today.costMicros);
    chart('c-traffic', [{ label: 'queries/s', stroke: '#58a6ff' }, { label: 'impressions/s', stroke: '#d2a8ff' }], [s.seconds, s.queries, s.impressions]);
    chart('c-clicks', [{ label: 'valid', stroke: '#3fb950' }, { label: 'invalid', stroke: '#f85149' }], [s.seconds, s.validClicks, s.invalidClicks]);
    chart('c-spend', [{ label: 'charged (currency units)', stroke: '#e3b341', fill: 'rgba(227,179,65,.15)' }],
      [s.minutes, s.chargedMicrosPerMinute.map(function (m) { return m / 1e6; })]);
    table('t-reasons', ['reason', 'clicks'], Object.keys(s.invalidByReasonLast5m).map(function (k) { return [k, fmt.format(s.invalidByReasonLast5m[k])]; }));
    tops('t-kw5', s.topKeywords.last5m);
    tops('t-kwd', s.topKeywords.today);
    tops('t-ad5', s.topAdvertisers.last5m);
    tops('t-add', s.topAdvertisers.today);
    table('t-lag', ['topic', 'records behind', 'newest event'], s.lag.map(function (l) {
      return [l.kind + ' (' + l.topic + ')', l.records == null ? '?' : fmt.format(l.records), l.eventAgeSeconds == null ? '–' : fmt.format(l.eventAgeSeconds) + ' s ago'];
    }));
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  }
  var es = new EventSource('/v1/live/stream');
  es.addEventListener('snapshot', function (e) {
    $('status').textContent = 'live'; $('status').className = 'live';
    draw(JSON.parse(e.data));
  });
  es.onerror = function () { $('status').textContent = 'reconnecting…'; $('status').className = ''; };
})();
`;
