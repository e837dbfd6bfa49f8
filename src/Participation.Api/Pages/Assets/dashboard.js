// The campaign dashboard: /dashboard/{campaignId}
// Asks for an API key (kept in this tab's sessionStorage only), reads GET /v1/campaigns/{id} and .../report with it,
// and draws the figures and a chart of participations per day as inline SVG. No dependencies.
'use strict';

(() => {
  const root = document.getElementById('dashboard');
  if (!root) {
    return;
  }

  const campaignId = root.dataset.campaign;
  const api = (root.dataset.api || '') + '/v1/campaigns/' + encodeURIComponent(campaignId);
  const KEY = 'participation:dashboard-key';
  const SVG = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);
  const form = $('key-form');
  const input = $('api-key');
  const status = $('status');
  const report = $('report');
  const number = new Intl.NumberFormat('en');

  const REASONS = {
    participant_not_allowed: 'not allowed by the partner',
    participation_limit_reached: 'limit reached',
    period_limit_reached: 'daily limit reached',
    cooldown_active: 'too soon after the previous one',
    campaign_full: 'campaign full',
    campaign_not_open: 'campaign not open yet',
    campaign_closed: 'campaign closed',
  };

  let key = null;
  try { key = window.sessionStorage.getItem(KEY); } catch (e) { key = null; }
  let timer = null;

  function say(text, kind) {
    status.textContent = text;
    status.className = 'message' + (kind ? ' ' + kind : '');
    status.hidden = false;
  }

  async function get(path, accept) {
    const response = await fetch(api + path, {
      headers: { Authorization: 'Bearer ' + key, Accept: accept || 'application/json' },
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
    return response;
  }

  async function load() {
    if (!key) {
      return;
    }

    $('forget').hidden = false;
    say('Loading…');
    let campaign, figures;
    try {
      const [c, r] = await Promise.all([get(''), get('/report')]);
      if (c.status === 401 || r.status === 401) {
        // Not kept: a reload or the 30-second refresh would only be refused again.
        forgetKey();
        say('This API key is not valid. Enter the key of the account that owns this campaign.', 'refused');
        return;
      }

      if (c.status === 404 || r.status === 404) {
        forgetKey();
        say('This key does not give access to campaign "' + campaignId + '": enter the key of the account that owns it.', 'refused');
        return;
      }

      if (!c.ok || !r.ok) {
        say('The figures could not be read right now (' + (c.ok ? r.status : c.status) + '). Try again in a moment.', 'wait');
        return;
      }

      campaign = await c.json();
      figures = await r.json();
    } catch (e) {
      say('The service could not be reached. Check your connection and try again.', 'wait');
      return;
    }

    render(campaign, figures);
  }

  function cell(row, text, numeric) {
    const td = document.createElement('td');
    td.textContent = text;
    if (numeric) td.className = 'number';
    row.appendChild(td);
  }

  function render(campaign, figures) {
    $('campaign-name').textContent = campaign.name;
    document.title = campaign.name + ' · dashboard';
    const rejected = figures.rejected || {};
    const refused = Object.values(rejected).reduce((sum, n) => sum + n, 0);
    $('accepted').textContent = number.format(figures.accepted);
    $('unique').textContent = number.format(figures.uniqueParticipants);
    $('at-limit').textContent = number.format(figures.participantsAtLimit);
    $('refused').textContent = number.format(refused);

    const reasons = $('refusals').tBodies[0];
    reasons.replaceChildren();
    const codes = Object.keys(rejected).sort((a, b) => rejected[b] - rejected[a]);
    if (codes.length === 0) {
      const row = reasons.insertRow();
      cell(row, 'none so far');
      cell(row, '0', true);
    }

    for (const code of codes) {
      const row = reasons.insertRow();
      cell(row, (REASONS[code] || code) + ' (' + code + ')');
      cell(row, number.format(rejected[code]), true);
    }

    const days = $('days').tBodies[0];
    days.replaceChildren();
    for (const day of (figures.byDay || []).slice().reverse()) {
      const row = days.insertRow();
      cell(row, day.day);
      cell(row, number.format(day.accepted), true);
      cell(row, number.format(day.rejected), true);
      cell(row, number.format(day.newParticipants), true);
    }

    drawChart(figures.byDay || []);
    const asOf = figures.asOf || {};
    // This campaign's events not yet counted (the store's other campaigns do not matter here).
    const behind = Math.max(0, asOf.pending || 0);
    $('as-of').textContent = 'Updated ' + new Date().toLocaleTimeString('en-GB') + ' · days in ' + figures.timeZone +
      (asOf.lastEventAt ? ' · last participation ' + new Date(asOf.lastEventAt).toLocaleString('en-GB', { timeZone: 'UTC' }) + ' UTC' : '') +
      (behind > 0 ? ' · ' + behind + ' recent event(s) still being counted' : '');
    say('Figures for ' + campaign.name + ' (' + campaign.id + '), refreshed every 30 seconds.', 'ok');
    report.hidden = false;
    root.dataset.loaded = 'true';
  }

  function svg(name, attributes, parent) {
    const element = document.createElementNS(SVG, name);
    for (const [attribute, value] of Object.entries(attributes)) element.setAttribute(attribute, String(value));
    if (parent) parent.appendChild(element);
    return element;
  }

  function niceMax(value) {
    if (value <= 4) return 4;
    const magnitude = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 5, 10]) {
      if (step * magnitude >= value) return step * magnitude;
    }
    return 10 * magnitude;
  }

  function drawChart(days) {
    const width = 960, height = 280, left = 48, right = 12, top = 12, bottom = 36;
    const chart = svg('svg', { viewBox: '0 0 ' + width + ' ' + height, role: 'img', 'aria-label': 'Participations per day' });
    const plotWidth = width - left - right, plotHeight = height - top - bottom;
    if (days.length === 0) {
      svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'empty' }, chart).textContent = 'No participation yet';
      $('chart').replaceChildren(chart);
      return;
    }

    const max = niceMax(Math.max(...days.map((d) => Math.max(d.accepted, d.rejected))));
    for (let i = 0; i <= 4; i++) {
      const value = (max / 4) * i;
      const y = top + plotHeight - (value / max) * plotHeight;
      svg('line', { x1: left, x2: width - right, y1: y, y2: y, class: 'axis' }, chart);
      svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', class: 'tick' }, chart).textContent = number.format(value);
    }

    const slot = plotWidth / days.length;
    const barWidth = Math.max(1, Math.min(28, slot * 0.38));
    const labelEvery = Math.ceil(days.length / 12);
    days.forEach((day, i) => {
      const x = left + i * slot + slot / 2;
      for (const [kind, value, offset] of [['accepted', day.accepted, -barWidth], ['rejected', day.rejected, 0]]) {
        const h = (value / max) * plotHeight;
        const bar = svg('rect', { x: x + offset, y: top + plotHeight - h, width: barWidth, height: Math.max(h, 0), class: 'bar-' + kind, 'data-day': day.day }, chart);
        svg('title', {}, bar).textContent = day.day + ': ' + number.format(value) + ' ' + (kind === 'accepted' ? 'accepted' : 'refused');
      }

      if (i % labelEvery === 0) {
        svg('text', { x: x, y: height - 12, 'text-anchor': 'middle', class: 'tick' }, chart).textContent = day.day.slice(5);
      }
    });

    $('chart').replaceChildren(chart);
  }

  async function exportCsv() {
    let response;
    try {
      response = await get('/participations', 'text/csv');
    } catch (e) {
      say('The service could not be reached. Check your connection and try again.', 'wait');
      return;
    }

    if (!response.ok) {
      say('The export failed (' + response.status + ').', 'refused');
      return;
    }

    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement('a');
    link.href = url;
    link.download = 'participations-' + campaignId + '.csv';
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    key = input.value.trim();
    input.value = '';
    if (!key) return;
    try { window.sessionStorage.setItem(KEY, key); } catch (e) { /* this tab only, then */ }
    load();
  });

  function forgetKey() {
    key = null;
    try { window.sessionStorage.removeItem(KEY); } catch (e) { /* ignore */ }
    report.hidden = true;
    $('forget').hidden = true;
    delete root.dataset.loaded;
  }

  $('forget').addEventListener('click', () => {
    forgetKey();
    say('Key forgotten. Enter an API key to see this campaign\'s figures.');
  });

  $('refresh').addEventListener('click', load);
  $('export').addEventListener('click', exportCsv);
  timer = window.setInterval(() => { if (key && document.visibilityState === 'visible') load(); }, 30000);
  window.addEventListener('pagehide', () => window.clearInterval(timer));
  load();
})();
