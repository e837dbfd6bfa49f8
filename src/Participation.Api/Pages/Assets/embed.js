// Embeds the play page in a partner's page:
//   <div data-participation-campaign="123456" data-participation-token="eyJ..."></div>
//   <script src="https://participation.example.com/assets/embed.js" async></script>
// Each such element, also one added later, gets an iframe of /play/{campaign} of the service the script came from
// (under the same path prefix); the frame grows with its content, and the element receives a "participation" DOM
// event ({type: 'checked' | 'participated' | 'replayed' | 'refused', ...}) the partner's page may listen to.
'use strict';

(() => {
  const script = document.currentScript;
  // The service's base URL: where this script was served from, minus /assets/embed.js (keeps a path prefix).
  const base = script && script.src
    ? new URL(script.src).href.replace(/\/assets\/embed\.js(?:[?#].*)?$/, '')
    : window.location.origin;
  const origin = new URL(base, window.location.href).origin;

  function mount(element) {
    if (element.dataset.participationMounted) return;
    const campaign = element.dataset.participationCampaign;
    const token = element.dataset.participationToken;
    if (!campaign) return;
    element.dataset.participationMounted = 'true';

    const frame = document.createElement('iframe');
    frame.src = base + '/play/' + encodeURIComponent(campaign) + (token ? '?qual_token=' + encodeURIComponent(token) : '');
    frame.title = element.dataset.participationTitle || 'Take part';
    frame.referrerPolicy = 'no-referrer';
    frame.setAttribute('loading', 'lazy');
    frame.style.width = '100%';
    frame.style.border = '0';
    frame.style.height = (element.dataset.participationHeight || '420') + 'px';
    element.appendChild(frame);

    window.addEventListener('message', (event) => {
      if (event.origin !== origin || event.source !== frame.contentWindow || !event.data || event.data.source !== 'participation') return;
      if (event.data.type === 'resize' && event.data.height > 0) {
        frame.style.height = Math.ceil(event.data.height) + 'px';
        return;
      }

      element.dispatchEvent(new CustomEvent('participation', { detail: event.data, bubbles: true }));
    });
  }

  function mountAll() {
    document.querySelectorAll('[data-participation-campaign]').forEach(mount);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', mountAll);
  } else {
    mountAll();
  }

  // Pages that render later (single-page applications) add their elements after this script ran.
  if ('MutationObserver' in window) {
    new MutationObserver(mountAll).observe(document.documentElement, { childList: true, subtree: true });
  }
})();
