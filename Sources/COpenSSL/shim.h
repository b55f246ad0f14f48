// OpenSSL 3 for the TLS module (the only importer). Swift cannot import OpenSSL's function-like
// macros (they expand to SSL_CTX_ctrl / BIO_ctrl calls) or its variadic key generator, so each one
// the TLS module needs has a static inline wrapper here, named after the macro with a `wharf_` prefix.
#ifndef WHARF_COPENSSL_SHIM_H
#define WHARF_COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/core_names.h>
#include <openssl/ocsp.h>

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "Wharf's TLS module needs OpenSSL 3.0 or later (Debian: libssl-dev)"
#endif

/// The server's option bits (SSL_OP_* are composed macros Swift does not import).
static inline uint64_t wharf_server_options(void) {
    return SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION
         | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_SSLv3;
}
static inline int wharf_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int wharf_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}
static inline long wharf_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline long wharf_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}
static inline int wharf_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) {
    return (int)SSL_CTX_set1_groups_list(ctx, list);
}
static inline int wharf_SSL_CTX_set1_sigalgs_list(SSL_CTX *ctx, const char *list) {
    return (int)SSL_CTX_set1_sigalgs_list(ctx, list);
}
static inline int wharf_SSL_CTX_set_tlsext_servername_callback(SSL_CTX *ctx, int (*cb)(SSL *, int *, void *)) {
    return (int)SSL_CTX_set_tlsext_servername_callback(ctx, cb);
}
static inline int wharf_SSL_CTX_set_tlsext_servername_arg(SSL_CTX *ctx, void *arg) {
    return (int)SSL_CTX_set_tlsext_servername_arg(ctx, arg);
}
static inline int wharf_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}
static inline int wharf_SSL_CTX_set_tlsext_status_cb(SSL_CTX *ctx, int (*cb)(SSL *, void *)) {
    return (int)SSL_CTX_set_tlsext_status_cb(ctx, cb);
}
static inline int wharf_SSL_CTX_set_tlsext_status_arg(SSL_CTX *ctx, void *arg) {
    return (int)SSL_CTX_set_tlsext_status_arg(ctx, arg);
}
// Notes a ClientHello received after the handshake finished (a renegotiation attempt: OpenSSL
// refuses it with a warning alert and carries on; Wharf closes the connection instead). `arg` points
// to the session's flag: 0 while handshaking, 1 once established (set by Swift), 2 after such a hello.
static void wharf_renegotiation_watch(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg) {
    (void)version;
    (void)ssl;
    if (!write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 && ((const unsigned char *)buf)[0] == SSL3_MT_CLIENT_HELLO
        && arg != NULL && *(int *)arg == 1) {
        *(int *)arg = 2;
    }
}
static inline void wharf_watch_renegotiation(SSL *ssl, int *flag) {
    SSL_set_msg_callback(ssl, wharf_renegotiation_watch);
    SSL_set_msg_callback_arg(ssl, flag);
}
static inline int wharf_BIO_set_mem_eof_return(BIO *bio, int value) { return (int)BIO_set_mem_eof_return(bio, value); }
/// subjectAltName entries: the sk_GENERAL_NAME_* accessors and the GENERAL_NAME union are macros
/// and a C union. Returns 1 for a DNS name, 2 for an IP address (raw bytes), 0 for other kinds.
static inline int wharf_general_names_count(void *names) { return sk_GENERAL_NAME_num((GENERAL_NAMES *)names); }
static inline int wharf_general_name_at(void *names, int index, const unsigned char **data, int *length) {
    GENERAL_NAME *name = sk_GENERAL_NAME_value((GENERAL_NAMES *)names, index);
    if (name == NULL) return 0;
    if (name->type == GEN_DNS) { *data = ASN1_STRING_get0_data(name->d.dNSName); *length = ASN1_STRING_length(name->d.dNSName); return 1; }
    if (name->type == GEN_IPADD) { *data = ASN1_STRING_get0_data(name->d.iPAddress); *length = ASN1_STRING_length(name->d.iPAddress); return 2; }
    return 0;
}
static inline void wharf_general_names_free(void *names) { GENERAL_NAMES_free((GENERAL_NAMES *)names); }
/// An elliptic-curve key on `curve` ("P-256"); EVP_EC_gen is a macro over a variadic function.
static inline EVP_PKEY *wharf_EVP_EC_gen(const char *curve) { return EVP_EC_gen(curve); }

/// Session tickets: HMAC-SHA256 keyed with `key` (OSSL_PARAM arrays are built with macros and
/// compound literals Swift cannot express).
static inline int wharf_ticket_mac_init(EVP_MAC_CTX *ctx, const unsigned char *key, size_t length) {
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    return EVP_MAC_init(ctx, key, length, params);
}
/// OCSP stapling: the status of a DER OCSP response (-1 if it does not parse), and handing a copy
/// of one to a session (OpenSSL frees it; OPENSSL_malloc is a macro).
static inline int wharf_ocsp_response_status(const unsigned char *der, long length) {
    const unsigned char *p = der;
    OCSP_RESPONSE *response = d2i_OCSP_RESPONSE(NULL, &p, length);
    if (response == NULL) return -1;
    int status = OCSP_response_status(response);
    OCSP_RESPONSE_free(response);
    return status;
}
static inline int wharf_SSL_staple_copy(SSL *ssl, const unsigned char *der, long length) {
    unsigned char *copy = OPENSSL_malloc(length);
    if (copy == NULL) return 0;
    memcpy(copy, der, length);
    if (SSL_set_tlsext_status_ocsp_resp(ssl, copy, length) != 1) { OPENSSL_free(copy); return 0; }
    return 1;
}
static inline void *wharf_SSL_CTX_get_app_data(const SSL_CTX *ctx) { return SSL_CTX_get_app_data(ctx); }
static inline int wharf_SSL_CTX_set_app_data(SSL_CTX *ctx, void *data) { return SSL_CTX_set_app_data(ctx, data); }

#endif
