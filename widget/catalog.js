// What this client may book: the expert's services and packages, a collection's (?collection=…),
// or, on a direct link, one service (whose first slots are then asked for at once). Read at start
// and again after signing in or out, since clients-only offers depend on who is signed in.

import { get, paths } from './api.js';
import { S, cfg } from './state.js';
import { slotStore } from './slots.js';

// Throws the API's error (sign_in_required for a clients-only collection).
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
