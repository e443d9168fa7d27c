#!/usr/bin/env python3
"""Credentials for tests/e2e/auth_matrix.sh, made with PyJWT (python3-jwt)
and the keys openssl generated in WORK: never with the data plane's code.

    mint.py WORK

reads WORK/{rsa,rsa_other,ec,ed,ed_other}.pem, WORK/rsa_pub.pem and
WORK/{hs,hs_other}.secret; writes the JWKS files WORK/{rsa,ec,ed,hs}.jwks
and one token per file in WORK/tok/ (the names the test's tables use).
Tokens PyJWT refuses to make on purpose (alg "none" with a signature, an
HS256 token keyed with an RSA public key's PEM bytes, a tampered payload)
are assembled by hand with the standard library's hmac and base64.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time

import jwt
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, OKPAlgorithm, RSAAlgorithm


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def main():
    work = sys.argv[1]
    rd = lambda n: open(os.path.join(work, n), "rb").read()
    priv = lambda n: serialization.load_pem_private_key(rd(n), None)
    rsa, rsa_other, ec, ed, ed_other = (priv(n + ".pem") for n in ("rsa", "rsa_other", "ec", "ed", "ed_other"))
    hs, hs_other = rd("hs.secret").strip(), rd("hs_other.secret").strip()
    rsa_pub_pem = rd("rsa_pub.pem")

    def jwks(name, jwk, **extra):
        k = json.loads(jwk)
        k.update(extra)
        json.dump({"keys": [k]}, open(os.path.join(work, name + ".jwks"), "w"))

    jwks("rsa", RSAAlgorithm.to_jwk(rsa.public_key()), kid="rsa1", alg="RS256", use="sig")
    jwks("ec", ECAlgorithm.to_jwk(ec.public_key()), kid="ec1")
    jwks("ed", OKPAlgorithm.to_jwk(ed.public_key()), kid="ed1")
    jwks("hs", HMACAlgorithm.to_jwk(hs), kid="hs1")

    now = int(time.time())
    base = {"iss": "https://issuer.test", "aud": "containers", "iat": now, "exp": now + 3600, "role": "admin"}

    def claims(**kw):
        c = dict(base)
        for k, v in kw.items():
            if v is None:
                c.pop(k, None)
            else:
                c[k] = v
        return c

    out = {}
    enc = lambda key, alg, kid, c: jwt.encode(c, key, algorithm=alg, headers={"kid": kid} if kid else None)
    out["rs_ok"] = enc(rsa, "RS256", "rsa1", claims())
    out["rs_other"] = enc(rsa_other, "RS256", "rsa1", claims())
    out["rs_expired"] = enc(rsa, "RS256", "rsa1", claims(exp=now - 600))
    out["rs_expired_skew"] = enc(rsa, "RS256", "rsa1", claims(exp=now - 30))
    out["rs_nbf_future"] = enc(rsa, "RS256", "rsa1", claims(nbf=now + 600))
    out["rs_nbf_skew"] = enc(rsa, "RS256", "rsa1", claims(nbf=now + 30))
    out["rs_aud_wrong"] = enc(rsa, "RS256", "rsa1", claims(aud="other"))
    out["rs_aud_list"] = enc(rsa, "RS256", "rsa1", claims(aud=["other", "containers"]))
    out["rs_aud_missing"] = enc(rsa, "RS256", "rsa1", claims(aud=None))
    out["rs_iss_wrong"] = enc(rsa, "RS256", "rsa1", claims(iss="https://evil.test"))
    out["rs_iss_missing"] = enc(rsa, "RS256", "rsa1", claims(iss=None))
    out["rs_no_exp"] = enc(rsa, "RS256", "rsa1", claims(exp=None))
    out["rs_no_kid"] = enc(rsa, "RS256", None, claims())
    out["rs_role_missing"] = enc(rsa, "RS256", "rsa1", claims(role=None))
    out["rs_role_guest"] = enc(rsa, "RS256", "rsa1", claims(role="guest"))
    out["rs_role_list"] = enc(rsa, "RS256", "rsa1", claims(role=["guest", "ops"]))
    out["rs_role_number"] = enc(rsa, "RS256", "rsa1", claims(role=7))
    out["rs384"] = enc(rsa, "RS384", "rsa1", claims())
    out["ps256"] = enc(rsa, "PS256", None, claims())
    out["es_kid_rsa"] = enc(ec, "ES256", "rsa1", claims())
    out["es_ok"] = enc(ec, "ES256", "ec1", claims())
    out["ed_ok"] = enc(ed, "EdDSA", "ed1", claims())
    out["ed_other"] = enc(ed_other, "EdDSA", "ed1", claims())
    out["hs_ok"] = enc(hs, "HS256", "hs1", claims())
    out["hs512_ok"] = enc(hs, "HS512", "hs1", claims())
    out["hs_other"] = enc(hs_other, "HS256", "hs1", claims())
    out["none_empty"] = jwt.encode(claims(), None, algorithm="none")

    def by_hand(header, payload, sig):
        h = b64(json.dumps(header).encode())
        p = b64(json.dumps(payload).encode())
        return h, p, sig

    # alg confusion: HMAC keyed with the RSA public key's PEM bytes
    for name, hdr in (("hs_pem", {"alg": "HS256", "typ": "JWT"}), ("hs_pem_kid", {"alg": "HS256", "typ": "JWT", "kid": "rsa1"})):
        h, p, _ = by_hand(hdr, claims(), None)
        mac = hmac.new(rsa_pub_pem, f"{h}.{p}".encode(), hashlib.sha256).digest()
        out[name] = f"{h}.{p}.{b64(mac)}"
    # alg none carrying a (valid, RS256) signature of the same header.payload bytes
    h, p, _ = by_hand({"alg": "none", "kid": "rsa1"}, claims(), None)
    rs_sig = jwt.encode(claims(), rsa, algorithm="RS256").split(".")[2]
    out["none_sig"] = f"{h}.{p}.{rs_sig}"
    # tampered: rs_ok's header and signature, another payload
    oh, _, osig = out["rs_ok"].split(".")
    out["tampered"] = f"{oh}.{b64(json.dumps(claims(role='admin', sub='mallory')).encode())}.{osig}"

    os.makedirs(os.path.join(work, "tok"), exist_ok=True)
    for k, v in out.items():
        open(os.path.join(work, "tok", k), "w").write(v)


if __name__ == "__main__":
    main()
