// amsync dashboard: live figures without reloading the page. It polls the
// JSON API with the session cookie and updates elements marked
// data-field="path.in.the.json" (formatted by data-format), the banners
// marked data-show-when, the throughput chart and a run's progress.
(function () {
  'use strict';

  function get(obj, path) {
    return path.split('.').reduce(function (o, k) { return o == null ? undefined : o[k]; }, obj);
  }

  function span(seconds) {
    var s = Math.abs(Math.round(seconds));
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
    return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
  }

  function ago(iso) {
    if (!iso) return '';
    var d = (Date.now() - Date.parse(iso)) / 1000;
    return d >= 0 ? span(d) + ' ago' : 'in ' + span(d);
  }

  function due(iso) {
    if (!iso) return '';
    var d = (Date.parse(iso) - Date.now()) / 1000;
    return d > 0 ? 'in ' + span(d) : 'due now';
  }

  // Relative times ("3 min ago") written by the server go stale; rewrite them.
  function refreshTimes() {
    document.querySelectorAll('time[datetime]').forEach(function (el) {
      el.textContent = ago(el.getAttribute('datetime'));
    });
  }

  function show(el, value) {
    var fmt = el.getAttribute('data-format');
    if (fmt === 'ago') {
      el.textContent = ago(value);
    } else if (fmt === 'due') {
      el.textContent = due(value);
    } else if (fmt === 'age') {
      el.textContent = value ? span((Date.now() - Date.parse(value)) / 1000) : 'none';
    } else if (fmt === 'reachable') {
      el.textContent = value ? 'reachable' : 'unreachable';
      el.className = 'badge ' + (value ? 'succeeded' : 'failed');
    } else if (fmt === 'badge') {
      el.textContent = value;
      el.className = 'badge ' + value;
    } else {
      el.textContent = value == null ? '' : String(value);
    }
  }

  function fill(root, data) {
    root.querySelectorAll('[data-field]').forEach(function (el) {
      var v = get(data, el.getAttribute('data-field'));
      if (v !== undefined) show(el, v);
    });
  }

  function drawChart(values) {
    var svg = document.querySelector('svg[data-chart="throughput"]');
    if (!svg || !values || !values.length) return;
    var max = Math.max.apply(null, values.concat([1]));
    var height = 120;
    svg.querySelectorAll('rect.bar').forEach(function (bar) {
      var i = Number(bar.getAttribute('data-i'));
      var v = values[i] || 0;
      var h = Math.round(v / max * height);
      bar.setAttribute('y', String(height - h));
      bar.setAttribute('height', String(h));
      var title = bar.querySelector('title');
      if (title) title.textContent = v + ' refreshes, ' + (values.length - 1 - i) + ' min ago';
    });
    var peak = svg.querySelector('[data-chart-max]');
    if (peak) peak.textContent = String(Math.max.apply(null, values));
  }

  async function fetchJson(url) {
    var r = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (r.status === 401) {
      window.location.href = '/admin/login?next=' + encodeURIComponent(window.location.pathname);
      return null;
    }
    return r.ok ? r.json() : null;
  }

  async function pollStatus() {
    var s;
    try { s = await fetchJson('/api/v1/sync/status'); } catch (e) { return; }
    if (!s) return;
    fill(document, s);
    var when = {
      quarantined: s.quarantined,
      paused_not_quarantined: s.paused && !s.quarantined,
      ams_down: !!(s.ams && s.ams.reachable === false),
      approvals_pending: !!(s.thresholds && s.thresholds.pending_approvals > 0),
      tasks_restarted: !!(s.engine && s.engine.task_restarts && s.engine.task_restarts.length > 0)
    };
    document.querySelectorAll('[data-show-when]').forEach(function (el) {
      el.hidden = !when[el.getAttribute('data-show-when')];
    });
    document.querySelectorAll('[data-live-flag="paused"]').forEach(function (el) {
      el.textContent = s.paused ? 'paused' : 'running';
      el.className = 'state ' + (s.paused ? 'bad' : 'ok');
    });
    if (s.engine) drawChart(s.engine.refreshes_per_minute);
  }

  async function pollRun(box) {
    var id = box.getAttribute('data-live-run');
    var run;
    try { run = await fetchJson('/api/v1/sync/runs/' + encodeURIComponent(id)); } catch (e) { run = null; }
    if (run) {
      var total = run.counts.enqueued + run.counts.merged;
      run.total = total;
      run.settled = Math.max(0, total - run.pending);
      fill(box, run);
      var bar = box.querySelector('progress[data-progress]');
      if (bar) { bar.max = Math.max(total, 1); bar.value = run.settled; }
      if (run.outcome !== 'running') {
        box.setAttribute('data-run-done', run.outcome);
        return;
      }
    }
    setTimeout(function () { pollRun(box); }, 1000);
  }

  document.addEventListener('DOMContentLoaded', function () {
    setInterval(refreshTimes, 5000);
    if (document.querySelector('[data-live-status]')) {
      pollStatus();
      setInterval(pollStatus, 5000);
    }
    document.querySelectorAll('[data-live-run]').forEach(function (box) { pollRun(box); });
  });
})();
