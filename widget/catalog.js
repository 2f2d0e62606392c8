// What this client may book (read again after signing in or out: clients-only offers).

import { get, paths } from './api.js';
import { S, cfg } from './state.js';
import { slotStore } from './slots.js';

export async function offers() {
  if (cfg.collection) {
    const c = (await get(paths.collection(cfg.expert, cfg.collection))).collection;
    S.collection = c;
    S.services = c.services;
    S.plans = c.packages;
  }
  if (cfg.service) {
    S.service = S.services.find((s) => s.slug === cfg.service) || await get(paths.service(cfg.expert, cfg.service));
    slotStore(cfg.expert, S.service.slug).warm(S.tz);
  }
}
