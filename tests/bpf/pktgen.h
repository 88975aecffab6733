// SPDX-License-Identifier: MIT
/*
 * Test frames from packet descriptions: Ethernet + IPv4 (TCP, UDP, ICMP
 * echo, ICMP errors embedding the packet they are about) or IPv6, with
 * correct checksums, plus the deliberate defects the parser must survive
 * (IP options, a wrong IHL, fragments, truncation).
 *
 * BPF_PROG_TEST_RUN hands tc programs an Ethernet frame, so every frame
 * starts with one; the programs under test skip it (cg_l2_len = 14).
 */
#ifndef CG_TEST_PKTGEN_H
#define CG_TEST_PKTGEN_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PKT_ETH_LEN 14
#define PKT_MAX 2048
#define PKT_ETH_P_IP 0x0800
#define PKT_ETH_P_ARP 0x0806
#define PKT_ETH_P_IPV6 0x86DD

/* Header and flag values, spelled out so fixtures read like a capture. */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define ICMP_T_ECHOREPLY 0
#define ICMP_T_UNREACH 3
#define ICMP_T_ECHO 8
#define ICMP_T_TIMXCEED 11
#define ICMP_T_TSTAMP 13
#define ICMP_C_PORT_UNREACH 3
#define ICMP_C_FRAG_NEEDED 4
/* ICMPv6 (RFC 4443, RFC 4861) and IPv6 extension headers (RFC 8200). */
#define ICMP6_T_UNREACH 1
#define ICMP6_T_TOO_BIG 2
#define ICMP6_T_TIMXCEED 3
#define ICMP6_T_ECHO 128
#define ICMP6_T_ECHOREPLY 129
#define ICMP6_T_RS 133
#define ICMP6_T_RA 134
#define ICMP6_T_NS 135
#define ICMP6_T_NA 136
#define PKT_NH_HOP 0
#define PKT_NH_ROUTING 43
#define PKT_NH_FRAGMENT 44
#define PKT_NH_DEST 60
#define PKT_MAX_EXT 8

enum pkt_l3 {
	PKT_IPV4 = 0,
	PKT_IPV6, /* src/dst are IPv6 text; TCP, UDP and ICMPv6 */
	PKT_ARP, /* an EtherType the programs do not know; no L3 content */
};

/* One packet, as a fixture describes it. Zero values are defaults. */
struct pkt_desc {
	enum pkt_l3 l3;
	const char *src, *dst; /* addresses as text */
	uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, other */
	uint16_t sport, dport; /* TCP and UDP */
	uint8_t tcp_flags; /* TH_* */
	uint8_t icmp_type, icmp_code; /* ICMP_T_*, ICMP_C_* */
	uint16_t icmp_id; /* echo identifier */
	uint16_t ip_id;
	bool mf; /* more fragments */
	uint16_t frag_off; /* in 8-byte units; > 0 means no L4 header */
	uint8_t opt_len; /* bytes of IP options: a multiple of 4, <= 40 */
	uint8_t ihl; /* written instead of the right IHL when non-zero */
	uint16_t payload_len; /* bytes after the L4 header */
	const uint8_t *payload; /* payload_len bytes; NULL: a fixed pattern */
	bool udp_no_csum; /* UDP checksum 0: "none" (RFC 768) */
	const struct pkt_desc *inner; /* ICMP error: the packet it is about */
	uint8_t quote_l4; /* bytes of inner's L4 header quoted; 0: 8 */
	uint16_t truncate; /* cut the frame to this many bytes when non-zero */
	/* IPv6 only: extension headers (PKT_NH_*, 8 bytes each) in this
	 * order, then a Fragment header when mf or frag_off (ip_id its
	 * identification); the routing header's segments left; the hop
	 * limit (0: 64). */
	uint8_t ext[PKT_MAX_EXT];
	uint8_t n_ext;
	uint8_t segs_left;
	uint8_t hop_limit;
};

/* ---- checksums (RFC 1071) ------------------------------------------------ */

static inline uint32_t pkt_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

static inline uint16_t pkt_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static inline void pkt_put16(uint8_t *p, uint16_t host)
{
	p[0] = (uint8_t)(host >> 8);
	p[1] = (uint8_t)host;
}

/* TCP/UDP checksum over the IPv4 pseudo-header and the L4 bytes present.
 * A first fragment carries only part of its datagram; the programs never
 * verify L4 checksums, so covering what is there is enough. */
static inline uint16_t pkt_l4_csum4(const uint8_t *iph, const uint8_t *l4,
				    size_t len, uint8_t proto)
{
	uint32_t sum = pkt_csum_add(0, iph + 12, 8); /* saddr, daddr */

	sum += proto + (uint32_t)len;
	return pkt_csum_fold(pkt_csum_add(sum, l4, len));
}

/* ---- L4 ------------------------------------------------------------------ */

static inline void pkt_fill_payload(const struct pkt_desc *d, uint8_t *p)
{
	size_t i;

	if (d->payload) {
		memcpy(p, d->payload, d->payload_len);
		return;
	}
	for (i = 0; i < d->payload_len; i++)
		p[i] = (uint8_t)('a' + i % 26);
}

static inline size_t pkt_tcp(const struct pkt_desc *d, uint8_t *l4)
{
	memset(l4, 0, 20);
	pkt_put16(l4, d->sport);
	pkt_put16(l4 + 2, d->dport);
	l4[7] = 1; /* seq 1 */
	if (d->tcp_flags & TH_ACK)
		l4[11] = 1; /* ack 1 */
	l4[12] = 5 << 4; /* data offset: 20 bytes */
	l4[13] = d->tcp_flags;
	pkt_put16(l4 + 14, 65535); /* window */
	return 20;
}

static inline size_t pkt_udp(const struct pkt_desc *d, uint8_t *l4)
{
	pkt_put16(l4, d->sport);
	pkt_put16(l4 + 2, d->dport);
	pkt_put16(l4 + 4, (uint16_t)(8 + d->payload_len));
	pkt_put16(l4 + 6, 0);
	return 8;
}

static inline size_t pkt_ipv4(const struct pkt_desc *d, uint8_t *ip,
			      size_t cap);

/* An ICMP error carries the IP header and first 8 L4 bytes of the packet
 * it is about (RFC 792), or more (RFC 1812 4.3.2.3): l4 bytes. */
static inline size_t pkt_icmp_quote(const struct pkt_desc *inner, size_t l4,
				    uint8_t *out)
{
	uint8_t full[PKT_MAX];
	size_t len = pkt_ipv4(inner, full, sizeof(full));
	size_t quote = (size_t)(full[0] & 0xf) * 4 + (l4 ? l4 : 8);

	if (quote > len)
		quote = len;
	memcpy(out, full, quote);
	return quote;
}

static inline size_t pkt_icmp(const struct pkt_desc *d, uint8_t *l4)
{
	memset(l4, 0, 8);
	l4[0] = d->icmp_type;
	l4[1] = d->icmp_code;
	if (d->icmp_type == ICMP_T_ECHO || d->icmp_type == ICMP_T_ECHOREPLY) {
		pkt_put16(l4 + 4, d->icmp_id);
		pkt_put16(l4 + 6, 1); /* sequence */
	} else if (d->icmp_type == ICMP_T_UNREACH &&
		   d->icmp_code == ICMP_C_FRAG_NEEDED) {
		pkt_put16(l4 + 6, 1280); /* next-hop MTU */
	}
	if (d->inner)
		return 8 + pkt_icmp_quote(d->inner, d->quote_l4, l4 + 8);
	return 8;
}

/* The L4 header of d at l4; its length. */
static inline size_t pkt_l4_header(const struct pkt_desc *d, uint8_t *l4)
{
	switch (d->proto) {
	case IPPROTO_TCP:
		return pkt_tcp(d, l4);
	case IPPROTO_UDP:
		return pkt_udp(d, l4);
	case IPPROTO_ICMP:
		return pkt_icmp(d, l4);
	default:
		return 0;
	}
}

/* A UDP checksum that computes to 0 is sent as 0xffff: 0 means none. */
static inline uint16_t pkt_udp_csum(const struct pkt_desc *d, const uint8_t *ip,
				    const uint8_t *l4, size_t len)
{
	uint16_t sum = pkt_l4_csum4(ip, l4, len, 17);

	if (d->udp_no_csum)
		return 0;
	return sum ? sum : 0xffff;
}

static inline void pkt_l4_checksum(const struct pkt_desc *d, uint8_t *ip,
				   uint8_t *l4, size_t len)
{
	switch (d->proto) {
	case IPPROTO_TCP:
		memcpy(l4 + 16, (uint16_t[]){ pkt_l4_csum4(ip, l4, len, 6) },
		       2);
		break;
	case IPPROTO_UDP:
		memcpy(l4 + 6, (uint16_t[]){ pkt_udp_csum(d, ip, l4, len) }, 2);
		break;
	case IPPROTO_ICMP:
		memcpy(l4 + 2,
		       (uint16_t[]){ pkt_csum_fold(pkt_csum_add(0, l4, len)) },
		       2);
		break;
	}
}

/* ---- IPv4 ---------------------------------------------------------------- */

static inline void pkt_ipv4_header(const struct pkt_desc *d, uint8_t *ip,
				   size_t hlen, size_t total)
{
	uint16_t frag = (uint16_t)((d->mf ? 0x2000 : 0) | d->frag_off);
	size_t i;

	memset(ip, 0, hlen);
	ip[0] = (uint8_t)(0x40 | (d->ihl ? d->ihl : hlen / 4));
	pkt_put16(ip + 2, (uint16_t)total);
	pkt_put16(ip + 4, d->ip_id);
	pkt_put16(ip + 6, frag);
	ip[8] = 64; /* TTL */
	ip[9] = d->proto;
	inet_pton(AF_INET, d->src, ip + 12);
	inet_pton(AF_INET, d->dst, ip + 16);
	/* Options: NOPs ended by End of Options List, so the header is a
	 * valid one of the length IHL says. */
	for (i = 20; i < hlen; i++)
		ip[i] = i + 1 == hlen ? 0 : 1;
	memcpy(ip + 10,
	       (uint16_t[]){ pkt_csum_fold(pkt_csum_add(0, ip, hlen)) }, 2);
}

/* The IPv4 packet of d (no Ethernet header); its length. */
static inline size_t pkt_ipv4(const struct pkt_desc *d, uint8_t *ip, size_t cap)
{
	size_t hlen = 20 + d->opt_len, l4len = 0;
	uint8_t *l4 = ip + hlen;

	if (cap < hlen + 60 + 68 + (size_t)d->payload_len)
		return 0;
	if (d->frag_off == 0)
		l4len = pkt_l4_header(d, l4);
	pkt_fill_payload(d, l4 + l4len);
	l4len += d->payload_len;
	pkt_ipv4_header(d, ip, hlen, hlen + l4len);
	if (d->frag_off == 0)
		pkt_l4_checksum(d, ip, l4, l4len);
	return hlen + l4len;
}

/* ---- IPv6 ---------------------------------------------------------------- */

static inline size_t pkt_ipv6(const struct pkt_desc *d, uint8_t *ip,
			      size_t cap);

/* RFC 8200 8.1 pseudo-header: addresses, length, next header. */
static inline uint16_t pkt_l4_csum6(const uint8_t *ip, const uint8_t *l4,
				    size_t len, uint8_t proto)
{
	uint32_t sum = pkt_csum_add(0, ip + 8, 32) + (uint32_t)len + proto;

	return pkt_csum_fold(pkt_csum_add(sum, l4, len));
}

/* ICMPv6: echo with its identifier, errors quoting the whole packet
 * they are about (RFC 4443 2.4(c): as much as fits), others bare. */
static inline size_t pkt_icmp6(const struct pkt_desc *d, uint8_t *l4)
{
	uint8_t full[PKT_MAX];
	size_t len;

	memset(l4, 0, 8);
	l4[0] = d->icmp_type;
	l4[1] = d->icmp_code;
	if (d->icmp_type == ICMP6_T_ECHO || d->icmp_type == ICMP6_T_ECHOREPLY) {
		pkt_put16(l4 + 4, d->icmp_id);
		pkt_put16(l4 + 6, 1);
	} else if (d->icmp_type == ICMP6_T_TOO_BIG) {
		pkt_put16(l4 + 6, 1280); /* MTU */
	}
	if (!d->inner)
		return 8;
	len = pkt_ipv6(d->inner, full, sizeof(full));
	if (len > 512)
		len = 512;
	memcpy(l4 + 8, full, len);
	return 8 + len;
}

/* The extension headers of d after the fixed header; where the next
 * header field to fill is (*nhp) and the bytes written. */
static inline size_t pkt_ext6(const struct pkt_desc *d, uint8_t *p,
			      uint8_t **nhp)
{
	size_t n = 0, i;

	for (i = 0; i < d->n_ext && i < PKT_MAX_EXT; i++, n += 8) {
		**nhp = d->ext[i];
		memset(p + n, 0, 8);
		if (d->ext[i] == PKT_NH_ROUTING) {
			p[n + 2] = 4; /* segment routing */
			p[n + 3] = d->segs_left;
		} else {
			p[n + 2] = 1; /* PadN over the 6 option bytes */
			p[n + 3] = 4;
		}
		*nhp = p + n;
	}
	if (d->mf || d->frag_off) {
		**nhp = PKT_NH_FRAGMENT;
		memset(p + n, 0, 8);
		pkt_put16(p + n + 2,
			  (uint16_t)(d->frag_off << 3 | (d->mf ? 1 : 0)));
		pkt_put16(p + n + 6, d->ip_id);
		*nhp = p + n;
		n += 8;
	}
	return n;
}

static inline size_t pkt_ipv6(const struct pkt_desc *d, uint8_t *ip, size_t cap)
{
	uint8_t *nhp = ip + 6, *l4;
	size_t ext, l4len = 0, plen;

	if (cap < 40 + 8 * (PKT_MAX_EXT + 1) + 8 + 512 + (size_t)d->payload_len)
		return 0;
	memset(ip, 0, 40);
	ip[0] = 0x60;
	ip[7] = d->hop_limit ? d->hop_limit : 64;
	inet_pton(AF_INET6, d->src, ip + 8);
	inet_pton(AF_INET6, d->dst, ip + 24);
	ext = pkt_ext6(d, ip + 40, &nhp);
	*nhp = d->proto;
	l4 = ip + 40 + ext;
	if (d->frag_off == 0)
		l4len = d->proto == IPPROTO_ICMPV6 ? pkt_icmp6(d, l4) :
						     pkt_l4_header(d, l4);
	pkt_fill_payload(d, l4 + l4len);
	l4len += d->payload_len;
	plen = ext + l4len;
	pkt_put16(ip + 4, (uint16_t)plen);
	if (d->frag_off)
		return 40 + plen;
	if (d->proto == IPPROTO_TCP)
		memcpy(l4 + 16,
		       (uint16_t[]){ pkt_l4_csum6(ip, l4, l4len, d->proto) },
		       2);
	else if (d->proto == IPPROTO_UDP)
		memcpy(l4 + 6,
		       (uint16_t[]){ pkt_l4_csum6(ip, l4, l4len, d->proto) },
		       2);
	else if (d->proto == IPPROTO_ICMPV6)
		memcpy(l4 + 2,
		       (uint16_t[]){ pkt_l4_csum6(ip, l4, l4len, d->proto) },
		       2);
	return 40 + plen;
}

/* ---- frames -------------------------------------------------------------- */

static inline void pkt_eth(uint8_t *eth, uint16_t ethertype)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x02 };

	memcpy(eth, dst, 6);
	memcpy(eth + 6, src, 6);
	pkt_put16(eth + 12, ethertype);
}

/* The Ethernet frame of d in buf; its length, 0 if it does not fit. */
static inline size_t pkt_build(const struct pkt_desc *d, uint8_t *buf,
			       size_t cap)
{
	size_t len;

	if (cap < PKT_ETH_LEN + 64)
		return 0;
	switch (d->l3) {
	case PKT_IPV6:
		pkt_eth(buf, PKT_ETH_P_IPV6);
		len = pkt_ipv6(d, buf + PKT_ETH_LEN, cap - PKT_ETH_LEN);
		break;
	case PKT_ARP:
		pkt_eth(buf, PKT_ETH_P_ARP);
		len = 28; /* an ARP body's size; its content is irrelevant */
		memset(buf + PKT_ETH_LEN, 0, len);
		break;
	default:
		pkt_eth(buf, PKT_ETH_P_IP);
		len = pkt_ipv4(d, buf + PKT_ETH_LEN, cap - PKT_ETH_LEN);
		break;
	}
	if (!len)
		return 0;
	len += PKT_ETH_LEN;
	return d->truncate && d->truncate < len ? d->truncate : len;
}

#endif
