/* SPDX-License-Identifier: MIT */
/*
 * The command-line spelling of API values, both ways:
 *   endpoint  IP/PROTO[:PORT]          172.20.0.21/tcp:80, 10.0.0.1/icmp
 *   dnat      PROTO:PORT:TO_IP:TO_PORT tcp:8080:172.20.0.21:80
 *   names     NAME,NAME                calendar,files
 *   switch    on|off
 * Parsers check everything they can before a request is sent and return
 * the API's JSON (NULL with a reason in why).
 */
#ifndef CELLGATE_CLI_SYNTAX_H
#define CELLGATE_CLI_SYNTAX_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

json_object *syntax_endpoint(const char *s, char *why, size_t why_len);
json_object *syntax_dnat(const char *s, char *why, size_t why_len);
/* A JSON array of valid names from "a,b,c". */
json_object *syntax_names(const char *s, char *why, size_t why_len);
bool syntax_on_off(const char *s, bool *on);

/* An endpoint or dnat object of the API written the way it is typed. */
void syntax_fmt_endpoint(json_object *ep, char *buf, size_t len);
void syntax_fmt_dnat(json_object *d, char *buf, size_t len);

#endif
