/**
 * NodeConfig `spec.instance.network`: name servers and search domains for systemd-resolved, written as
 * nodeadm writes them (awslabs/amazon-eks-ami nodeadm/internal/system/resolve.go and resolve.conf.tpl,
 * commit 81fec2e8): /run/systemd/resolved.conf.d/40-eks.conf with `DNS=` and `Domains=` lines, each list
 * joined by spaces, an empty line where a list is empty; nothing when both are empty. nodeadm then
 * restarts systemd-resolved.
 */

/** `spec.instance.network`. */
export interface NetworkOptions {
  nameservers?: readonly string[];
  domains?: readonly string[];
}

/**
 * The resolved.conf drop-in for `network`, or undefined when it sets nothing.
 * @example renderResolvedDropIn({ nameservers: ["8.8.8.8"] }) // "[Resolve]\nDNS=8.8.8.8\n\n"
 */
export function renderResolvedDropIn(network: NetworkOptions | undefined): string | undefined {
  const dns = network?.nameservers ?? [];
  const domains = network?.domains ?? [];
  if (dns.length === 0 && domains.length === 0) return undefined;
  return `[Resolve]\n${dns.length ? `DNS=${dns.join(" ")}` : ""}\n` +
    `${domains.length ? `Domains=${domains.join(" ")}` : ""}\n`;
}
