// The screen's credential. A viewer token arrives once in the address
// (…/?token=…, as `citydash demo` prints it or an administrator hands it to a
// screen), is taken out of the address bar at once (so it is not left in the
// history or on a photo of the screen), and is kept in this browser only after
// the server has accepted it: a bad token in a link never replaces a good one
// saved before.

const KEY = "citydash-token";

/** A week: how long before its expiry a screen starts to warn. */
const WARN_MS = 7 * 24 * 3600 * 1000;

/** The token this screen sends, and what it knows about it. */
export class Credential {
  private current: string | null;
  /** The current token came from the address and the server has not accepted it yet. */
  private fromAddress: boolean;
  private readonly saved: string | null;
  /** A token from the address was refused and the saved one is used instead. */
  addressTokenRefused = false;

  constructor() {
    const params = new URLSearchParams(window.location.search);
    const inAddress = params.get("token");
    this.saved = window.localStorage.getItem(KEY);
    this.current = inAddress ?? this.saved;
    this.fromAddress = inAddress !== null && inAddress !== this.saved;
    if (inAddress !== null) {
      params.delete("token");
      const rest = params.toString();
      window.history.replaceState(null, "", `${window.location.pathname}${rest ? `?${rest}` : ""}${window.location.hash}`);
    }
  }

  /** The bearer token to send, if any. */
  get token(): string | null {
    return this.current;
  }

  /** The server answered a call made with the current token: keep it. */
  accepted() {
    if (this.fromAddress && this.current) {
      window.localStorage.setItem(KEY, this.current);
      this.fromAddress = false;
    }
  }

  /**
   * The server refused the current token. When it came from the address and
   * another was saved before, that one is used from now on (true: try again).
   */
  refused(): boolean {
    if (this.fromAddress && this.saved && this.saved !== this.current) {
      this.current = this.saved;
      this.fromAddress = false;
      this.addressTokenRefused = true;
      return true;
    }
    return false;
  }

  /** When the current token expires (its `exp` claim), if it says. */
  expiry(): Date | undefined {
    const exp = this.current ? claims(this.current)?.exp : undefined;
    return typeof exp === "number" ? new Date(exp * 1000) : undefined;
  }

  /** "soon" within a week of the expiry, "expired" after it, else undefined. */
  expiryWarning(now: Date = new Date()): "soon" | "expired" | undefined {
    const e = this.expiry();
    if (!e) return undefined;
    const left = e.getTime() - now.getTime();
    return left <= 0 ? "expired" : left <= WARN_MS ? "soon" : undefined;
  }
}

/** What a token says about itself (its JWT payload), unverified: only for
 * showing it; the services verify every token they are shown. */
export interface Claims {
  sub?: unknown;
  exp?: unknown;
  role?: unknown;
  sectors?: unknown;
}

/** The payload of a token, or undefined when it is not a JWT. */
export function claims(token: string): Claims | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(payload.length / 4) * 4, "=");
    const text = new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null ? (parsed as Claims) : undefined;
  } catch {
    return undefined;
  }
}
