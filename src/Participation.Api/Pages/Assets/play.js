// The play page: /play/{campaignId}?qual_token=...
// Checks the invitation (POST .../eligibility: nothing is consumed), shows how many participations are left, and takes
// part on a click (POST .../participations). Every refusal gets a sentence a visitor understands. No dependencies.
'use strict';

(() => {
  const root = document.getElementById('play');
  if (!root || !root.dataset.campaign) {
    // The "campaign not found" page: nothing to check, but the invitation still leaves the address bar.
    stripToken();
    return;
  }

  const campaignId = root.dataset.campaign;
  const api = (root.dataset.api || '') + '/v1/campaigns/' + encodeURIComponent(campaignId);
  const status = document.getElementById('status');
  const result = document.getElementById('result');
  const button = document.getElementById('take-part');
  const remaining = document.getElementById('remaining');
  const remainingLabel = document.getElementById('remaining-label');

  const AGAIN = 'To take part again, come back through the site that invited you.';

  // One sentence per code of the API (docs/integration.md lists them).
  const SENTENCES = {
    token_missing: 'This link has no invitation in it. Please open the campaign again from the site that sent you here.',
    token_malformed: 'This invitation link is damaged or incomplete. Please open the campaign again from the site that sent you here.',
    token_too_large: 'This invitation link is too long to be valid. Please open the campaign again from the site that sent you here.',
    token_invalid_signature: 'This invitation could not be verified. Please open the campaign again from the site that sent you here.',
    token_algorithm_not_allowed: 'This invitation could not be verified: the inviting site is not set up correctly. Please try again later.',
    key_not_found: 'This invitation could not be verified: the inviting site is not set up correctly. Please try again later.',
    token_decryption_failed: 'This invitation could not be read: the inviting site is not set up correctly. Please try again later.',
    token_expired: 'This invitation has expired. Please go back to the site that invited you to get a new one.',
    token_not_yet_valid: 'This invitation is not valid yet. Please try again in a moment.',
    token_too_old: 'This invitation is too old. Please go back to the site that invited you to get a new one.',
    token_issuer_invalid: 'This invitation was not issued for this campaign. Please open the campaign again from the site that sent you here.',
    token_audience_invalid: 'This invitation was not issued for this campaign. Please open the campaign again from the site that sent you here.',
    token_missing_claim: 'This invitation is incomplete. Please open the campaign again from the site that sent you here.',
    token_claim_invalid: 'This invitation is not valid. Please open the campaign again from the site that sent you here.',
    token_campaign_mismatch: 'This invitation is for another campaign.',
    token_ambiguous: 'This page was opened with two different invitations. Please open the campaign again from the site that sent you here.',
    request_invalid: 'Your request could not be understood. Please reload the page.',
    participant_not_allowed: 'Sorry, your account cannot take part in this campaign.',
    participation_limit_reached: 'You have used all your participations in this campaign. Thank you for taking part!',
    period_limit_reached: 'You have used all your participations for today.',
    cooldown_active: 'You took part a moment ago: please wait a little before taking part again.',
    campaign_full: 'This campaign has reached its maximum number of participations. Thank you for your interest!',
    campaign_not_open: 'This campaign has not started yet.',
    campaign_closed: 'This campaign has ended. Thank you for your interest!',
    campaign_not_found: 'This campaign does not exist (any more).',
    token_replayed: 'This invitation has already been used: your participation is recorded. ' + AGAIN,
    rate_limited: 'Too many attempts at once. Please wait a few seconds and try again.',
    service_unavailable: 'The service is busy right now. Please try again in a moment: trying again is safe, you cannot take part twice by accident.',
    internal_error: 'Something went wrong on our side. Please try again in a moment.',
  };

  // Refusals that pass with time: shown as "please wait", not as a final no.
  const WAIT = new Set(['period_limit_reached', 'cooldown_active', 'campaign_not_open', 'token_not_yet_valid', 'rate_limited', 'service_unavailable', 'internal_error']);

  const token = readToken();
  let lastCode = null;

  function readToken() {
    const key = 'participation:token:' + campaignId;
    const fromUrl = stripToken();
    if (fromUrl) {
      // A reload finds the invitation here, once it is out of the address bar.
      try { window.sessionStorage.setItem(key, fromUrl); } catch (e) { /* storage may be blocked in a third-party frame */ }
      return fromUrl;
    }

    try { return window.sessionStorage.getItem(key); } catch (e) { return null; }
  }

  // Takes the invitation out of the address bar, the history and anything copied from it; returns it.
  function stripToken() {
    const params = new URLSearchParams(window.location.search);
    const token = params.get('qual_token');
    if (token !== null) {
      params.delete('qual_token');
      const query = params.toString();
      try { window.history.replaceState(null, '', window.location.pathname + (query ? '?' + query : '') + window.location.hash); } catch (e) { /* ignore */ }
    }

    return token;
  }

  function inTime(seconds) {
    if (!seconds || seconds <= 0) {
      return '';
    }

    const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
    if (seconds < 90) return rtf.format(Math.ceil(seconds), 'second');
    if (seconds < 90 * 60) return rtf.format(Math.ceil(seconds / 60), 'minute');
    if (seconds < 36 * 3600) return rtf.format(Math.ceil(seconds / 3600), 'hour');
    return rtf.format(Math.ceil(seconds / 86400), 'day');
  }

  function sentence(code, retryAfter) {
    const text = SENTENCES[code] || 'This participation is not possible right now (' + code + ').';
    const when = inTime(Number(retryAfter));
    if (!when) return text;
    if (code === 'campaign_not_open') return text + ' It opens ' + when + '.';
    if (code === 'period_limit_reached' || code === 'cooldown_active' || code === 'rate_limited') return text + ' You can take part again ' + when + '.';
    return text;
  }

  function show(element, text, kind) {
    element.textContent = text;
    element.className = 'message' + (kind ? ' ' + kind : '');
    element.hidden = false;
    element.dataset.kind = kind || '';
  }

  function showRemaining(count) {
    if (typeof count !== 'number') {
      return;
    }

    remaining.textContent = String(count);
    remainingLabel.textContent = count === 1 ? 'participation left' : 'participations left';
    root.dataset.remaining = String(count);
  }

  function post(message) {
    if (window.parent !== window) {
      // The embedding page (embed.js) resizes the frame and may react to the result; nothing secret is sent.
      window.parent.postMessage(Object.assign({ source: 'participation', campaignId: campaignId }, message), '*');
    }
  }

  async function call(path) {
    let response;
    try {
      response = await fetch(api + path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ token: token }),
        credentials: 'omit',
        cache: 'no-store',
        referrerPolicy: 'no-referrer',
      });
    } catch (e) {
      return { network: true };
    }

    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    return { status: response.status, body: body || {}, retryAfter: response.headers.get('Retry-After') };
  }

  function refuse(element, code, retryAfter) {
    lastCode = code;
    root.dataset.code = code;
    show(element, sentence(code, retryAfter), WAIT.has(code) ? 'wait' : 'refused');
  }

  async function check() {
    if (!token) {
      refuse(status, 'token_missing');
      return;
    }

    show(status, 'Checking your invitation…');
    const answer = await call('/eligibility');
    if (answer.network) {
      show(status, 'The service could not be reached. Check your connection, then reload the page.', 'wait');
      return;
    }

    if (answer.status === 200) {
      const verdict = answer.body;
      showRemaining(verdict.remaining);
      if (verdict.eligible) {
        root.dataset.code = 'eligible';
        show(status, verdict.remaining === 1 ? 'You can take part: this is your last participation.' : 'You can take part.', 'ok');
        button.disabled = false;
      } else {
        refuse(status, verdict.code, verdict.retryAfter);
        button.disabled = true;
      }
    } else {
      showRemaining(answer.body.remaining);
      refuse(status, answer.body.code || (answer.status >= 500 ? 'service_unavailable' : 'request_invalid'), answer.retryAfter);
    }

    post({ type: 'checked', code: root.dataset.code });
  }

  async function takePart() {
    button.disabled = true;
    button.textContent = 'Taking part…';
    const answer = await call('/participations');
    if (answer.network) {
      show(result, 'The service could not be reached. Check your connection and try again: you cannot take part twice by accident.', 'wait');
      button.textContent = 'Try again';
      button.disabled = false;
      return;
    }

    const body = answer.body;
    if (answer.status === 201) {
      root.dataset.code = 'accepted';
      showRemaining(body.remaining);
      let text = 'You are in! This is your participation #' + body.number + '.';
      if (body.gift && body.gift.label) text += ' Your gift: ' + body.gift.label + '.';
      if (body.canWin === false) text += ' This participation cannot win a prize.';
      show(result, text, 'ok');
      show(status, body.remaining > 0 ? 'Each invitation works once. ' + AGAIN : 'That was your last participation. Thank you for taking part!', '');
      button.textContent = 'Done';
      post({ type: 'participated', number: body.number, remaining: body.remaining, canWin: body.canWin });
      return;
    }

    if (answer.status === 409 && body.code === 'token_replayed') {
      root.dataset.code = 'token_replayed';
      show(result, 'This invitation has already been used: your participation #' + body.number + ' is recorded.', 'ok');
      show(status, AGAIN, '');
      button.textContent = 'Done';
      post({ type: 'replayed', number: body.number });
      return;
    }

    const code = body.code || (answer.status >= 500 ? 'service_unavailable' : 'request_invalid');
    showRemaining(body.remaining);
    if (answer.status >= 500 || code === 'rate_limited') {
      // Worth another click: the check above still holds.
      refuse(result, code, answer.retryAfter);
      button.textContent = 'Try again';
      button.disabled = false;
    } else {
      // The answer replaces "You can take part" (another tab or device may have taken part meanwhile).
      result.hidden = true;
      refuse(status, code, answer.retryAfter);
      button.textContent = 'Take part';
    }

    post({ type: 'refused', code: code });
  }

  button.addEventListener('click', takePart);
  if (window.parent !== window && 'ResizeObserver' in window) {
    new ResizeObserver(() => post({ type: 'resize', height: document.documentElement.scrollHeight })).observe(document.body);
  }

  check();
})();
