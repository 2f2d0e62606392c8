// The dashboard's progressive touches (every page works without them): the navigation menu on a
// phone, copy buttons, the expert's brand colour through the widget's own theme module, and the
// Embed page's live preview following its options.
import { applyTheme } from './theme.js';

const root = document.documentElement;
root.classList.add('js');

// The brand colour, with Kairos's one rule for text on it (theme.js textOn: white or black, whichever reads).
if (root.dataset.brand) applyTheme(root.dataset.brand);
const colour = document.getElementById('f-brand_color');
if (colour) {
  const sample = document.querySelector('[data-brand-sample]');
  const follow = () => {
    if (/^#[0-9a-f]{6}$/i.test(colour.value.trim())) applyTheme(colour.value.trim());
    if (sample) sample.textContent = colour.value.trim() || 'the default blue';
  };
  colour.addEventListener('input', follow);
  const picker = document.getElementById('brand-picker');
  if (picker) {
    picker.hidden = false;
    picker.addEventListener('input', () => { colour.value = picker.value; follow(); });
  }
}

// Navigation: a disclosure button on narrow screens; Escape closes it and gives focus back.
const menu = document.querySelector('.menu-btn');
const list = document.getElementById('dash-nav-list');
if (menu && list) {
  menu.hidden = false;
  const set = (open) => {
    menu.setAttribute('aria-expanded', String(open));
    list.classList.toggle('open', open);
  };
  menu.addEventListener('click', () => set(menu.getAttribute('aria-expanded') !== 'true'));
  list.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && menu.getAttribute('aria-expanded') === 'true') { set(false); menu.focus(); }
  });
}

// Copy buttons: the text of the element they name, and a short spoken confirmation.
for (const button of document.querySelectorAll('[data-copy]')) {
  button.hidden = false;
  button.addEventListener('click', async () => {
    const source = document.getElementById(button.dataset.copy);
    const said = document.querySelector(`[data-copied-for="${button.dataset.copy}"]`);
    try {
      await navigator.clipboard.writeText(source.textContent);
      if (said) said.textContent = 'Copied';
    } catch {
      // No clipboard (an insecure origin, or permission refused): select the text for Ctrl+C instead.
      const range = document.createRange();
      range.selectNodeContents(source);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      if (said) said.textContent = 'Selected: press Ctrl+C or ⌘C';
    }
  });
}

// Embed & links: options change the snippets and the preview at once (the Update button stays for
// browsers without scripts). The page is fetched again and only text and the preview's address are
// taken from it, so focus stays where the expert is.
const embedForm = document.querySelector('form.embed-options');
if (embedForm) {
  let latest = 0;
  const refresh = async () => {
    const query = new URLSearchParams(new FormData(embedForm));
    const mine = ++latest;
    const response = await fetch(`${embedForm.action}?${query}`, { credentials: 'same-origin' });
    if (!response.ok || mine !== latest) return;
    const fresh = new DOMParser().parseFromString(await response.text(), 'text/html');
    for (const code of document.querySelectorAll('.copy-box code[id]')) {
      const next = fresh.getElementById(code.id);
      if (next) code.textContent = next.textContent;
    }
    for (const said of document.querySelectorAll('[data-copied-for]')) said.textContent = '';
    const frame = document.querySelector('iframe.widget-preview');
    const nextFrame = fresh.querySelector('iframe.widget-preview');
    if (frame && nextFrame && frame.getAttribute('src') !== nextFrame.getAttribute('src')) {
      frame.src = nextFrame.getAttribute('src');
      frame.title = nextFrame.title;
    }
    const heading = document.getElementById('h-embed-preview');
    const nextHeading = fresh.getElementById('h-embed-preview');
    if (heading && nextHeading) heading.textContent = nextHeading.textContent;
    history.replaceState(null, '', `${embedForm.action}?${query}`);
  };
  embedForm.addEventListener('change', refresh);
}
