/* The test key set (one key of each kind the JWT verifier takes: RSA,
 * EC P-256/384/521, Ed25519, an HMAC secret) and an RS256 token signed by
 * its RSA key (iss https://issuer.example, sub alice, aud api, exp 2100),
 * shared by the unit tests and the fuzz driver. */
#ifndef DP_TESTS_UNIT_JWT_KEYS_H
#define DP_TESTS_UNIT_JWT_KEYS_H

static const char JWKS[] =
    "{\"keys\": [{\"kty\": \"RSA\", \"key_ops\": [\"verify\"], \"n\": "
    "\"tdL0VE4JOefkNC_XubtzFaQWzNSemGyT9NoZN6e8AHPprZ"
    "AUv05f4q6IB4oxKYxV5zvs1ELOgni3Dw5p2JY7Cyo05hPMsdM01AvAGYi7knCOryrO_xicTD2_T3e0Yd64qZ53BJ0Z1_g0t-jL8o"
    "ZcSneLBUKOISX2CIbU2SDcZlgVikmuY9EsyMXcn-n0cnwrMA4CoSKowyFn3LnBserBRG8BXieHrr6EtHSvDL9SOKjodpCHVEauzi"
    "ryHxDDmYm4MVMmRAdBx_YIT8pB7wkL8mXdW6tH33lyMqQ1xuvjAy5Asu3_mWE8AEzy31kmo6ekkeDvNVvfRTuDRGy4bmaPOw\", \""
    "e\": \"AQAB\", \"kid\": \"rsa1\"}, {\"kty\": \"EC\", \"crv\": \"P-256\", \"x\": "
    "\"lK3nhOhSYPFVHOBAeKZyJUsnKf-hCXT2KDSE"
    "cU0NOTE\", \"y\": \"RysCq88X6vOesUxUZcFuS965c-xt7wZEpD8OU5UZSiw\", \"kid\": \"ec256\"}, {\"kty\": "
    "\"EC\", \"crv\": "
    "\"P-384\", \"x\": \"TMEdB_2qCCKiTMUMxBihuPmSF4bnPO0zQG8MWVfoXDh60sZjRdk-QXy1gBqbaEUZ\", \"y\": "
    "\"1fLYMosz66O_"
    "fEGJQ1RJpQgpP5AMulNh6AjFJ9Tzaum1pFWpJBjZlSvgDfquFex8\", \"kid\": \"ec384\"}, {\"kty\": \"EC\", \"crv\": "
    "\"P-521\""
    ", \"x\": \"Q-Bol62no2_gr3HZhS4lLjbeHXWmpn9uWPiqZeuVft2eGQddOYPC2xfI5r8b-m7Ijh8ILEWlYS9p_-aMs_FQN00\", "
    "\"y"
    "\": \"AU5RGtKAXMrBgvaXpEYFiJ3txBxGms2TQRDwMeg8Mdk34UvLBpixLqvQrS6sBcLLFLStZAgfz3Edk-iYRdtLFlH_\", "
    "\"kid\""
    ": \"ec521\"}, {\"x\": \"JlR8lyg9UyAz9P4lZlkzZLwvR-XkSS-bMI7JwfZmsd8\", \"kty\": \"OKP\", \"crv\": "
    "\"Ed25519\", \"ki"
    "d\": \"ed1\"}, {\"kty\": \"oct\", \"kid\": \"hs1\", \"k\": "
    "\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYtc2VjcmV0\""
    "}]}";
static const char TOK_RS256[] =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwic"
    "3ViIjoiYWxpY2UiLCJhdWQiOiJhcGkiLCJleHAiOjQxMDI0NDQ4MDAsImlhdCI6MTcwMDAwMDAwMH0.U8jPa9UakdUP2XuPrCGhM"
    "ibRvWbiYDuG3Tarhj_TiBR_5hdeDHPG6URX8v2NZyWKm9fdFz6oUuZO8L2fznwVlni9uhEV1-qVoxjm_gt-MDN9jXKrBrAL4KBjL"
    "Ik-CG7bLt4Krk7WsEq4XynrvmduSdtTNcLjt1OtHxmDQXdHu8YsjJeR15LKAirYzzjfPKYOJNbLSpza51TzLCERRUNMzWA2SFbiw"
    "w7Q3SPVwEHPvQL0vUB5olhsglXEiRGHMuRj2Asw0tjC8_A-RAYRqkubFP4oehgVnd2-X2xPTbbx2pG5Q_hszPjVv-70BVcW_0fVl"
    "JOvsMGUiNA8r6w26iwfqg";

#endif
