import type { Tracker } from './tracker.ts';

/**
 * `<loupe-recommendations user="u1" count="8" item="sku-1" heading="Recommended for you">`: product cards from
 * Loupe's recommendations (or similar items when `item` is set and `user` is not), in a shadow root themed
 * with CSS custom properties (`--loupe-gap`, `--loupe-card-bg`, `--loupe-radius`, `--loupe-font`,
 * `--loupe-accent`) and `::part(card|image|name|price)`. An impression is tracked once per card, when at least
 * half of it is on screen; a click is tracked with the recommendation id. Any error renders nothing.
 */
export interface WidgetConfig {
  host: string;
  writeKey: string;
  tracker: Tracker;
}

interface Card {
  item_id: string;
  name: string;
  price: number | null;
  currency: string | null;
  image_url: string | null;
  url?: string | null;
}

const CSS = `:host{display:block;font-family:var(--loupe-font,inherit)}
h2{font-size:1.1em;margin:0 0 .5em}
ul{list-style:none;margin:0;padding:0;display:grid;gap:var(--loupe-gap,12px);grid-template-columns:repeat(auto-fill,minmax(var(--loupe-card-width,160px),1fr))}
a{display:block;color:inherit;text-decoration:none;background:var(--loupe-card-bg,#fff);border-radius:var(--loupe-radius,8px);padding:8px;outline-offset:2px}
a:focus-visible{outline:2px solid var(--loupe-accent,#2563eb)}
img{width:100%;aspect-ratio:1;object-fit:cover;border-radius:calc(var(--loupe-radius,8px) - 4px);background:#eee}
.price{color:var(--loupe-accent,#2563eb);font-weight:600}`;

let config: WidgetConfig | undefined;

function money(price: number | null, currency: string | null): string {
  if (price === null) return '';
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency: currency ?? 'USD' }).format(price);
  } catch {
    return String(price);
  }
}

/** Registers the element once; later calls only update the configuration. */
export function defineWidget(c: WidgetConfig): void {
  config = c;
  if (typeof customElements === 'undefined' || customElements.get('loupe-recommendations')) return;

  class LoupeRecommendations extends HTMLElement {
    private observer: IntersectionObserver | undefined;
    private seen = new Set<string>();

    connectedCallback(): void {
      void this.load().catch(() => this.clear());
    }
    disconnectedCallback(): void {
      this.observer?.disconnect();
    }

    private clear(): void {
      this.observer?.disconnect();
      if (this.shadowRoot) this.shadowRoot.innerHTML = '';
    }

    private async load(): Promise<void> {
      const c = config;
      if (!c) return;
      const user = this.getAttribute('user');
      const item = this.getAttribute('item');
      const count = Math.min(50, Math.max(1, Number(this.getAttribute('count')) || 8));
      const similar = !user && !!item;
      const res = await fetch(`${c.host.replace(/\/+$/, '')}/api/v1/recommendations${similar ? '/similar' : ''}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${c.writeKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(
          similar
            ? { item_id: item, count }
            : {
                ...(user ? { user_id: user } : {}),
                ...(item ? { context: { current_item: item } } : {}),
                ...(!user ? { recent_items: [] } : {}),
                count,
              },
        ),
      });
      if (!res.ok) return this.clear();
      const data = (await res.json()) as { recommendation_id?: string; recommendations?: Card[]; similar_items?: Card[] };
      const cards = data.recommendations ?? data.similar_items ?? [];
      if (!cards.length) return this.clear();
      this.render(cards, data.recommendation_id ?? '', c.tracker);
    }

    private render(cards: Card[], recommendationId: string, tracker: Tracker): void {
      const root = this.shadowRoot ?? this.attachShadow({ mode: 'open' });
      root.innerHTML = '';
      const style = document.createElement('style');
      style.textContent = CSS;
      const section = document.createElement('section');
      const headingText = this.getAttribute('heading') ?? 'Recommended for you';
      const h = document.createElement('h2');
      h.textContent = headingText;
      h.id = 'loupe-heading';
      section.setAttribute('aria-labelledby', 'loupe-heading');
      const list = document.createElement('ul');
      list.setAttribute('role', 'list');
      const template = this.getAttribute('href-template') ?? '/products/{item_id}';
      const byItem = new Map<Element, Card>();
      cards.forEach((card, position) => {
        const li = document.createElement('li');
        const a = document.createElement('a');
        a.href = card.url ?? template.replace('{item_id}', encodeURIComponent(card.item_id));
        a.setAttribute('part', 'card');
        a.dataset.itemId = card.item_id;
        if (card.image_url) {
          const img = document.createElement('img');
          img.src = card.image_url;
          img.alt = ''; // the name follows: the image would repeat it to screen readers
          img.loading = 'lazy';
          img.setAttribute('part', 'image');
          a.append(img);
        }
        const name = document.createElement('div');
        name.textContent = card.name;
        name.setAttribute('part', 'name');
        const price = document.createElement('div');
        price.className = 'price';
        price.textContent = money(card.price, card.currency);
        price.setAttribute('part', 'price');
        a.append(name, price);
        a.addEventListener('click', () =>
          tracker.track('Product Clicked', { product_id: card.item_id, recommendation_id: recommendationId, position }),
        );
        li.append(a);
        list.append(li);
        byItem.set(a, card);
      });
      section.append(h, list);
      root.append(style, section);

      this.observer?.disconnect();
      this.observer = new IntersectionObserver(
        (entries) => {
          for (const e of entries) {
            const card = byItem.get(e.target);
            if (!e.isIntersecting || !card || this.seen.has(card.item_id)) continue;
            this.seen.add(card.item_id);
            this.observer?.unobserve(e.target);
            tracker.track('Recommendations Shown', { product_id: card.item_id, recommendation_id: recommendationId });
          }
        },
        { threshold: 0.5 },
      );
      for (const a of byItem.keys()) this.observer.observe(a);
    }
  }
  customElements.define('loupe-recommendations', LoupeRecommendations);
}
