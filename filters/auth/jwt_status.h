/* JWT / JWKS verification statuses: the values and messages of Envoy's
 * jwt_verify_lib Status (source/common/jwt/status.h), in the same order,
 * so a status number is the one Envoy writes in failed_status_in_metadata
 * and the message is the body of Envoy's 401. */
#ifndef DP_FILTERS_AUTH_JWT_STATUS_H
#define DP_FILTERS_AUTH_JWT_STATUS_H

typedef enum dp_jwt_status {
    DP_JWT_OK = 0,

    /* JWT errors */
    DP_JWT_MISSED,                     /* Jwt is missing */
    DP_JWT_NOT_YET_VALID,              /* Jwt not yet valid */
    DP_JWT_EXPIRED,                    /* Jwt is expired */
    DP_JWT_BAD_FORMAT,                 /* not Header.Payload.Signature */
    DP_JWT_HEADER_BAD_BASE64,
    DP_JWT_HEADER_BAD_JSON,
    DP_JWT_HEADER_BAD_ALG,             /* alg missing or not a string */
    DP_JWT_HEADER_NOT_IMPLEMENTED_ALG, /* alg not supported ("none" included) */
    DP_JWT_HEADER_BAD_KID,
    DP_JWT_PAYLOAD_BAD_BASE64,
    DP_JWT_PAYLOAD_BAD_JSON,
    DP_JWT_PAYLOAD_ISS_NOT_STRING,
    DP_JWT_PAYLOAD_SUB_NOT_STRING,
    DP_JWT_PAYLOAD_IAT_NOT_INTEGER,
    DP_JWT_PAYLOAD_IAT_OUT_OF_RANGE,
    DP_JWT_PAYLOAD_NBF_NOT_INTEGER,
    DP_JWT_PAYLOAD_NBF_OUT_OF_RANGE,
    DP_JWT_PAYLOAD_EXP_NOT_INTEGER,
    DP_JWT_PAYLOAD_EXP_OUT_OF_RANGE,
    DP_JWT_PAYLOAD_JTI_NOT_STRING,
    DP_JWT_PAYLOAD_AUD_NOT_STRING,
    DP_JWT_SIGNATURE_BAD_BASE64,
    DP_JWT_ED25519_SIGNATURE_WRONG_LENGTH,
    DP_JWT_UNKNOWN_ISSUER,             /* Jwt issuer is not configured */
    DP_JWT_AUDIENCE_NOT_ALLOWED,       /* Audiences in Jwt are not allowed */
    DP_JWT_VERIFICATION_FAIL,          /* Jwt verification fails */
    DP_JWT_MULTIPLE_TOKENS,

    /* JWKS errors */
    DP_JWKS_PARSE_ERROR,
    DP_JWKS_NO_KEYS,
    DP_JWKS_BAD_KEYS,
    DP_JWKS_NO_VALID_KEYS,
    DP_JWKS_KID_ALG_MISMATCH,          /* Jwks doesn't have key to match kid or alg from Jwt */
    DP_JWKS_RSA_PARSE_ERROR,
    DP_JWKS_EC_CREATE_KEY_FAIL,
    DP_JWKS_EC_X_OR_Y_BAD_BASE64,
    DP_JWKS_EC_PARSE_ERROR,
    DP_JWKS_OCT_BAD_BASE64,
    DP_JWKS_OKP_X_BAD_BASE64,
    DP_JWKS_OKP_X_WRONG_LENGTH,
    DP_JWKS_FETCH_FAIL,                /* Jwks remote fetch is failed */
    DP_JWKS_MISSING_KTY,
    DP_JWKS_BAD_KTY,
    DP_JWKS_NOT_IMPLEMENTED_KTY,
    DP_JWKS_RSA_KEY_BAD_ALG,
    DP_JWKS_RSA_KEY_MISSING_N,
    DP_JWKS_RSA_KEY_BAD_N,
    DP_JWKS_RSA_KEY_MISSING_E,
    DP_JWKS_RSA_KEY_BAD_E,
    DP_JWKS_EC_KEY_BAD_ALG,
    DP_JWKS_EC_KEY_BAD_CRV,
    DP_JWKS_EC_KEY_ALG_OR_CRV_UNSUPPORTED,
    DP_JWKS_EC_KEY_ALG_NOT_COMPATIBLE_WITH_CRV,
    DP_JWKS_EC_KEY_MISSING_X,
    DP_JWKS_EC_KEY_BAD_X,
    DP_JWKS_EC_KEY_MISSING_Y,
    DP_JWKS_EC_KEY_BAD_Y,
    DP_JWKS_HMAC_KEY_BAD_ALG,
    DP_JWKS_HMAC_KEY_MISSING_K,
    DP_JWKS_HMAC_KEY_BAD_K,
    DP_JWKS_OKP_KEY_BAD_ALG,
    DP_JWKS_OKP_KEY_MISSING_CRV,
    DP_JWKS_OKP_KEY_BAD_CRV,
    DP_JWKS_OKP_KEY_CRV_UNSUPPORTED,
    DP_JWKS_OKP_KEY_MISSING_X,
    DP_JWKS_OKP_KEY_BAD_X,
    DP_JWKS_X509_BIO_WRITE_ERROR,
    DP_JWKS_X509_PARSE_ERROR,
    DP_JWKS_X509_GET_PUBKEY_ERROR,
    DP_JWKS_PEM_NOT_IMPLEMENTED_KTY,
    DP_JWKS_PEM_BAD_BASE64,
    DP_JWKS_PEM_GET_RAW_ED25519_ERROR,
    DP_JWKS_BIO_ALLOC_ERROR,

    DP_JWT_STATUS__COUNT
} dp_jwt_status_t;

/* Envoy's message for a status ("Jwt is missing", ...); "" if unknown. */
const char *dp_jwt_status_str(dp_jwt_status_t st);

#endif
