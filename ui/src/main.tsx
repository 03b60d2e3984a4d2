/** Entry of rubato's web UI: the page frame and the routes (search, trace view, service map and RED panels, compare). */
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { root, setTenant, setToken, tenant, token } from './api';
import { current, href, interceptLinks, useRoute } from './router';
import { SearchPage } from './search';
import { prefetchTrace, TracePage } from './trace-view';
import { ComparePage } from './compare';
import { RedPage, ServicesPage } from './services';
import './style.css';

// The server's <base href> is relative to the request's path; pin it so history pushes to other
// depths keep resolving assets and API calls against the UI root.
document.querySelector('base')?.setAttribute('href', root);

function App() {
  const route = useRoute();
  const [org, setOrg] = useState(tenant());
  const [key, setKey] = useState(token());
  const trace = /^trace\/([^/]+)$/.exec(route.path);
  const service = /^services\/([^/]+)$/.exec(route.path);
  const page =
    trace !== null ? (
      <TracePage key={trace[1]} traceId={decodeURIComponent(trace[1] ?? '')} spanId={route.params.get('span') ?? ''} />
    ) : service !== null ? (
      <RedPage key={service[1]} service={decodeURIComponent(service[1] ?? '')} params={route.params} />
    ) : route.path === 'services' ? (
      <ServicesPage params={route.params} />
    ) : route.path === 'compare' ? (
      <ComparePage a={route.params.get('a') ?? ''} b={route.params.get('b') ?? ''} />
    ) : (
      <SearchPage params={route.params} />
    );
  return (
    <>
      <header class="top">
        <a class="brand" href={href('')}>
          rubato
        </a>
        <nav aria-label="Main">
          <a href={href('search')}>Search</a>
          <a href={href('services')}>Services</a>
          <a href={href('compare')}>Compare</a>
        </nav>
        <label class="tenant">
          Tenant
          <input
            value={org}
            placeholder="single-tenant"
            size={14}
            onChange={(e) => {
              const v = e.currentTarget.value.trim();
              setTenant(v);
              setOrg(v);
            }}
          />
        </label>
        <label class="tenant">
          Token
          <input
            type="password"
            autocomplete="off"
            value={key}
            placeholder="none"
            size={10}
            onChange={(e) => {
              // Sent as Authorization: Bearer when rubato's access control is on (auth.enabled).
              const v = e.currentTarget.value.trim();
              setToken(v);
              setKey(v);
            }}
          />
        </label>
      </header>
      <main>{page}</main>
    </>
  );
}

interceptLinks();
// A deep link to a trace: its request goes out before the first render (see prefetchTrace).
const deepTrace = /^trace\/([^/]+)$/.exec(current().path);
if (deepTrace !== null) prefetchTrace(decodeURIComponent(deepTrace[1] ?? ''));
const el = document.getElementById('app');
if (el !== null) render(<App />, el);
