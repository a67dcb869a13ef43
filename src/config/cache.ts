import { entries, int, section, seconds } from "./fields.js";

export const cache = section({
  yaml: "Cache",
  doc: "the cached user model (go-zero's cache-aside by key)",
  fields: {
    expiry: int({ yaml: "Expiry", default: 3600, ...seconds, doc: "seconds a user stays cached (±5% jitter)" }),
    notFoundExpiry: int({ yaml: "NotFoundExpiry", default: 60, ...seconds, doc: "seconds an unknown username is remembered" }),
    maxEntries: int({ yaml: "MaxEntries", default: 10_000, ...entries, doc: "bound of the in-process cache" }),
  },
});
