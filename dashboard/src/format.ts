// Numbers as the meeting papers write them, from exact integer yuan (bigint):
// 亿元 from one hundred million up, else 万元, two decimals, rounded half away
// from zero. Kept identical to services/aggregator/src/compute/format.rs.

function scaled(value: bigint, scale: number, decimals: number): string {
  const divisor = 10n ** BigInt(scale - decimals);
  const abs = value < 0n ? -value : value;
  const rounded = (abs * 2n + divisor) / (2n * divisor);
  const unit = 10n ** BigInt(decimals);
  const sign = value < 0n && rounded !== 0n ? "-" : "";
  const frac = (rounded % unit).toString().padStart(decimals, "0");
  return `${sign}${rounded / unit}.${frac}`;
}

export function moneyZh(yuan: bigint): string {
  const abs = yuan < 0n ? -yuan : yuan;
  return abs >= 100_000_000n ? `${scaled(yuan, 8, 2)}亿元` : `${scaled(yuan, 4, 2)}万元`;
}

export function moneyEn(yuan: bigint): string {
  return `${scaled(yuan, 6, 2)} million yuan`;
}

export function percent(fraction: number | undefined): string {
  return fraction === undefined ? "—" : `${(fraction * 100).toFixed(1)}%`;
}

// A count as reports write it: 145.7万, 1.2亿, 42 (two decimals at most, no trailing zeros).
export function countZh(value: bigint): string {
  const abs = value < 0n ? -value : value;
  const trim = (x: string) => x.replace(/\.?0+$/, "");
  if (abs >= 100_000_000n) return `${trim(scaled(value, 8, 2))}亿`;
  if (abs >= 10_000n) return `${trim(scaled(value, 4, 2))}万`;
  return value.toString();
}

export function amount(value: bigint, unit: string, unitZh: string, en: boolean): string {
  if (unit === "yuan") return en ? moneyEn(value) : moneyZh(value);
  return en ? `${value.toLocaleString("en-US")} ${unit.replace("_", "-")}` : `${countZh(value)}${unitZh}`;
}
