import { isCidr, list, section, str } from "./fields.js";

// The HTTP edge: who may say where a request came from, which browsers may call, TLS.

export const trustedProxies = list({
  yaml: "TrustedProxies",
  env: "TRUSTED_PROXIES",
  default: [],
  what: "addresses or CIDR ranges such as 10.0.0.0/8 or ::1",
  ok: isCidr,
  doc: "load balancers or sidecars (addresses or CIDR ranges) whose `X-Forwarded-For` names the client, for the per-address login limit",
});

export const cors = section({
  yaml: "Cors",
  doc: "browser origins allowed to call the services (CORS)",
  fields: {
    allowedOrigins: list({
      yaml: "AllowedOrigins",
      env: "CORS_ALLOWED_ORIGINS",
      default: [],
      what: "origins such as https://app.example.com, or *",
      ok: (o) => o === "*" || /^https?:\/\/[^/\s]+$/.test(o),
      item: { pattern: String.raw`^(?:\*|https?://[^/\s]+)$` },
      doc: "browser origins allowed to call (comma-separated in the variable), or `*`",
    }),
  },
});

/** `CertFile` and `KeyFile` sit at the top of the document, as in go-zero's RestConf. */
export const tls = section({
  yaml: undefined,
  fields: {
    certFile: str({ yaml: "CertFile", default: "", doc: "PEM certificate; with `KeyFile`, every port speaks TLS (HTTP/2 or HTTP/1.1 by ALPN)" }),
    keyFile: str({ yaml: "KeyFile", default: "", doc: "PEM private key of `CertFile`" }),
  },
});
