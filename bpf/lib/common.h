/* SPDX-License-Identifier: GPL-2.0-only */
/* Includes and constants every cellgate BPF program needs. */
#ifndef CELLGATE_COMMON_H
#define CELLGATE_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "abi.h"

/* tc verdicts (uapi/linux/pkt_cls.h, macros so not in vmlinux.h). */
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

/* EtherTypes (uapi/linux/if_ether.h). */
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_HLEN 14

/* IPv4 flags/offset field (uapi/linux/ip.h). */
#define IP_MF 0x2000 /* more fragments follow */
#define IP_OFFSET 0x1FFF /* fragment offset, 8-byte units */

/* TCP flag bits in the 13th header byte. */
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

/* ICMP types cellgate understands (RFC 792). */
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif
