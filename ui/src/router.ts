/**
 * Client-side routes as paths below the UI root: '' (search), 'search?…', 'trace/<id>', 'compare?…'.
 * Links are plain <a href> resolved against the root, so they open in new tabs and survive reloads;
 * a click on one is turned into a history push here.
 */
import { useEffect, useState } from 'preact/hooks';
import { root } from './api';

export interface Route {
  readonly path: string;
  readonly params: URLSearchParams;
}

export function current(): Route {
  const here = new URL(location.href);
  const path = here.href.startsWith(root) ? here.pathname.slice(new URL(root).pathname.length) : '';
  return { path, params: here.searchParams };
}

const listeners = new Set<() => void>();

export function href(path: string): string {
  return new URL(path, root).href;
}

export function navigate(path: string, replace = false): void {
  const url = href(path);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const l of listeners) l();
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = (): void => setRoute(current());
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return route;
}

/** Same-origin link clicks below the root become history pushes (modifier clicks still open tabs). */
export function interceptLinks(): void {
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.('a');
    if (a === null || a === undefined || a.target !== '' || a.hasAttribute('download')) return;
    if (!a.href.startsWith(root)) return;
    e.preventDefault();
    history.pushState(null, '', a.href);
    for (const l of listeners) l();
  });
}
