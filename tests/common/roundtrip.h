/*
 * tests/common/roundtrip.h — decode any proto message family and encode it again.
 * Shared by the unit tests (golden vectors) and the fuzz targets (round-trip check).
 */
#ifndef FO_TEST_ROUNDTRIP_H
#define FO_TEST_ROUNDTRIP_H

#include "proto/frame.h"

enum fo_family { FO_FAM_CMD, FO_FAM_SNAPSHOT, FO_FAM_REQ, FO_FAM_REPLY, FO_FAM_HEALTH };

/* Decode payload as a message of family fam and, on success, encode it again into out
 * (a whole frame, owned by the caller). */
enum fo_proto_code fo_rt_reencode(enum fo_family fam, const uint8_t *payload, size_t len,
                                  struct fo_buf *out, struct fo_proto_error *err);

/* The payload limit of a family's frames. */
size_t fo_rt_max(enum fo_family fam);

/* Fuzz/property check: if payload[0..len) decodes as fam, its re-encoding must decode
 * and re-encode to the same bytes. Returns false only on a violation. */
bool fo_rt_stable(enum fo_family fam, const uint8_t *payload, size_t len);

#endif
