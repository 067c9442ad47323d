// Entry point: loads the module of the page (body[data-page]).
import { say } from './dom.js';

const pages = {
  servers: () => import('./servers.js'),
  server: () => import('./server.js'),
  library: () => import('./library.js'),
  executions: () => import('./executions.js'),
  playground: () => import('./playground.js'),
  wizard: () => import('./wizard.js'),
  wizard_session: () => import('./wizardsession.js'),
  account: () => import('./account.js'),
  operator: () => import('./operator.js'),
};

// body[data-ready] says the page's script has bound its handlers and
// loaded its data (tests wait for it before they click).
const page = document.body.dataset.page;
(pages[page] ? pages[page]().then((m) => m.start(document.body.dataset)) : Promise.resolve())
  .catch((err) => say(err.message || String(err), 'error'))
  .finally(() => { document.body.dataset.ready = 'true'; });
