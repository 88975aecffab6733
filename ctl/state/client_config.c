// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <qrencode.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "client_config.h"

/* A growing string buffer; failures are sticky and reported at the end. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool failed;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		char *p = realloc(b->s, b->cap + (size_t)n + 256);

		if (!p) {
			b->failed = true;
			return;
		}
		b->s = p;
		b->cap += (size_t)n + 256;
	}
}

static void cidr_line(struct sbuf *b, bool *first, const struct cg_cidr *c)
{
	char ip[16];

	sb_printf(b, "%s%s/%u", *first ? "" : ", ", ipv4_str(c->addr, ip),
		  c->prefix);
	*first = false;
}

static void cidr6_line(struct sbuf *b, const struct cg_cidr6 *c)
{
	char ip[CG_IP6_STRLEN];

	sb_printf(b, ", %s/%u", ipv6_str(&c->addr, ip), c->prefix);
}

/* Split tunnel: what the cell serves (its WireGuard subnet, the bridge
 * and the extra local networks); full tunnel: everything. */
static void allowed_ips(struct sbuf *b, const struct cg_config *cfg,
			const struct cg_peer_def *peer)
{
	bool first = true;
	unsigned int i;

	sb_printf(b, "AllowedIPs = ");
	/* An IPv6 cell takes IPv6 too, or the client's IPv6 would leak
	 * around the tunnel. */
	if (peer->internet_access) {
		sb_printf(b, "0.0.0.0/0%s\n",
			  cfg->wireguard.has_address6 ? ", ::/0" : "");
		return;
	}
	cidr_line(b, &first, &cfg->wireguard.subnet);
	if (cfg->bridge.has_subnet)
		cidr_line(b, &first, &cfg->bridge.subnet);
	for (i = 0; i < cfg->n_local_networks; i++)
		cidr_line(b, &first, &cfg->local_networks[i]);
	if (cfg->wireguard.has_address6)
		cidr6_line(b, &cfg->wireguard.subnet6);
	if (cfg->wireguard.has_address6 && cfg->bridge.has_subnet6)
		cidr6_line(b, &cfg->bridge.subnet6);
	sb_printf(b, "\n");
}

static void dns_line(struct sbuf *b, const struct cg_config *cfg)
{
	char ip[16], ip6[CG_IP6_STRLEN];

	sb_printf(b, "DNS = ");
	if (cfg->has_dns_ip)
		sb_printf(b, "%s", ipv4_str(cfg->dns_ip, ip));
	if (cfg->has_dns_ip6)
		sb_printf(b, "%s%s", cfg->has_dns_ip ? ", " : "",
			  ipv6_str(&cfg->dns_ip6, ip6));
	sb_printf(b, "\n");
}

char *client_config_render(const struct cg_config *cfg,
			   const struct cg_peer_def *peer,
			   const wg_key cell_pub, const char *priv_b64)
{
	struct sbuf b = { 0 };
	char ip[16], ip6[CG_IP6_STRLEN], pub[WG_KEY_B64_LEN + 1];
	bool v6 = !ipv6_is_zero(&peer->ip6);

	key_to_base64(pub, cell_pub);
	sb_printf(&b, "# %s: peer '%s' of cell '%s' (%s)\n", "cellgate",
		  peer->name, cfg->cell_name, cfg->domain);
	sb_printf(&b, "[Interface]\n");
	if (priv_b64)
		sb_printf(&b, "PrivateKey = %s\n", priv_b64);
	else
		sb_printf(&b, "%s", CLIENT_KEY_PLACEHOLDER);
	/* One line per key, comma-separated: the mobile apps refuse a key
	 * given twice. */
	sb_printf(&b, "Address = %s/32", ipv4_str(peer->ip, ip));
	if (v6)
		sb_printf(&b, ", %s/128", ipv6_str(&peer->ip6, ip6));
	sb_printf(&b, "\n");
	if (cfg->has_dns_ip || cfg->has_dns_ip6)
		dns_line(&b, cfg);
	sb_printf(&b, "\n[Peer]\n");
	sb_printf(&b, "PublicKey = %s\n", pub);
	sb_printf(&b, "Endpoint = %s\n", cfg->wireguard.endpoint);
	allowed_ips(&b, cfg, peer);
	sb_printf(&b, "PersistentKeepalive = %d\n", CLIENT_KEEPALIVE);
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* ---- PNG ------------------------------------------------------------------ */

#define QR_SCALE 4 /* pixels per module: readable by phone cameras */
#define QR_QUIET 4 /* modules of margin, as the QR standard asks */

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Append one PNG chunk (length, type, data, CRC of type and data). */
static unsigned char *png_chunk(unsigned char *out, const char type[4],
				const unsigned char *data, uint32_t len)
{
	uLong crc;

	put_be32(out, len);
	memcpy(out + 4, type, 4);
	if (len)
		memcpy(out + 8, data, len);
	crc = crc32(0, out + 4, len + 4);
	put_be32(out + 8 + len, (uint32_t)crc);
	return out + 12 + len;
}

/* Rows of the image: a filter byte (0: none) then one grey byte a pixel. */
static unsigned char *qr_raster(const QRcode *qr, uint32_t side, size_t *len)
{
	size_t row = side + 1;
	unsigned char *img = malloc(row * side);
	uint32_t x, y;

	if (!img)
		return NULL;
	for (y = 0; y < side; y++) {
		unsigned char *r = img + y * row;

		r[0] = 0;
		for (x = 0; x < side; x++) {
			int mx = (int)(x / QR_SCALE) - QR_QUIET;
			int my = (int)(y / QR_SCALE) - QR_QUIET;
			bool dark = mx >= 0 && my >= 0 && mx < qr->width &&
				    my < qr->width &&
				    (qr->data[my * qr->width + mx] & 1);

			r[1 + x] = dark ? 0x00 : 0xff;
		}
	}
	*len = row * side;
	return img;
}

int client_config_qr_png(const char *text, unsigned char **png, size_t *len)
{
	static const unsigned char sig[8] = { 0x89, 'P',  'N',	'G',
					      '\r', '\n', 0x1a, '\n' };
	unsigned char ihdr[13], *img, *z, *out, *p;
	size_t img_len;
	uLongf z_len;
	uint32_t side;
	QRcode *qr;
	int ret = -ENOMEM;

	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!qr)
		return errno == ERANGE ? -EINVAL : -ENOMEM;
	side = (uint32_t)(qr->width + 2 * QR_QUIET) * QR_SCALE;
	img = qr_raster(qr, side, &img_len);
	QRcode_free(qr);
	if (!img)
		return -ENOMEM;
	z_len = compressBound(img_len);
	z = malloc(z_len);
	if (!z || compress2(z, &z_len, img, img_len, 9) != Z_OK)
		goto out;
	out = malloc(sizeof(sig) + 3 * 12 + sizeof(ihdr) + z_len);
	if (!out)
		goto out;
	put_be32(ihdr, side);
	put_be32(ihdr + 4, side);
	ihdr[8] = 8; /* bit depth */
	ihdr[9] = 0; /* colour type: greyscale */
	ihdr[10] = ihdr[11] = ihdr[12] = 0; /* deflate, filters, no interlace */
	memcpy(out, sig, sizeof(sig));
	p = png_chunk(out + sizeof(sig), "IHDR", ihdr, sizeof(ihdr));
	p = png_chunk(p, "IDAT", z, (uint32_t)z_len);
	p = png_chunk(p, "IEND", NULL, 0);
	*png = out;
	*len = (size_t)(p - out);
	ret = 0;
out:
	free(z);
	free(img);
	return ret;
}
