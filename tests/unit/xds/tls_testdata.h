/* Test-only PEM material for the TLS translation tests (generated once
 * with openssl, valid for 100 years; the keys protect nothing):
 *   CA_PEM       self-signed EC P-256 CA "dp test CA"
 *   SRV_PEM/KEY  "*.node-us.example.test" (SANs *.node-us.example.test,
 *                node-us.example.test) signed by the CA
 *   SRV_KEY_ENC  SRV_KEY encrypted (PKCS#8, AES-256-CBC), password "s3cret"
 *   OTHER_KEY    a key matching no certificate
 *   SRV2_PEM/KEY self-signed "custom.example.com" */
#ifndef DP_TESTS_UNIT_XDS_TLS_TESTDATA_H
#define DP_TESTS_UNIT_XDS_TLS_TESTDATA_H

#define CA_PEM \
    "-----BEGIN CERTIFICATE-----\n" \
    "MIIBgTCCASegAwIBAgIUbsFiwUM5yTBpKG3tHrjft5onf/IwCgYIKoZIzj0EAwIw\n" \
    "FTETMBEGA1UEAwwKZHAgdGVzdCBDQTAgFw0yNjExMjMwOTIzMzlaGA8yMTI2MTAz\n" \
    "MDA5MjMzOVowFTETMBEGA1UEAwwKZHAgdGVzdCBDQTBZMBMGByqGSM49AgEGCCqG\n" \
    "SM49AwEHA0IABELVzL0pIWNpr3qff8rERnf/T2fjfHaW5GJJ9Z4/KBeenG8XIxLY\n" \
    "jD03vbswDP2mAjeMkUfnKqo8dHgg6Lct8ROjUzBRMB0GA1UdDgQWBBT3u3XYYBNR\n" \
    "GArv1LxKaKUUTB5OrTAfBgNVHSMEGDAWgBT3u3XYYBNRGArv1LxKaKUUTB5OrTAP\n" \
    "BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQCUA1Do5bGxmKCucYzQ\n" \
    "+55owJIdrWDqebx+7q2U0TjdBQIgNp42VyCd7BR3sL9rOMF2jb7ACz3IBv4xd0il\n" \
    "t0bEb9k=\n" \
    "-----END CERTIFICATE-----\n"

#define SRV_PEM \
    "-----BEGIN CERTIFICATE-----\n" \
    "MIIBtDCCAVugAwIBAgIUHSpeqHgDZaJdD2P0WY1ltPq84QIwCgYIKoZIzj0EAwIw\n" \
    "FTETMBEGA1UEAwwKZHAgdGVzdCBDQTAgFw0yNjExMjMwOTIzMzlaGA8yMTI2MTAz\n" \
    "MDA5MjMzOVowITEfMB0GA1UEAwwWKi5ub2RlLXVzLmV4YW1wbGUudGVzdDBZMBMG\n" \
    "ByqGSM49AgEGCCqGSM49AwEHA0IABP1mShhUo0M2jCcLSjEpnT9xOL0qDP3aY4kg\n" \
    "5r77ox8Vjd848Oh6SDpocFz1+cIbuVBPevjgW9RjjGmys99FrZajezB5MDcGA1Ud\n" \
    "EQQwMC6CFioubm9kZS11cy5leGFtcGxlLnRlc3SCFG5vZGUtdXMuZXhhbXBsZS50\n" \
    "ZXN0MB0GA1UdDgQWBBTraGGj3KW1R6HJPGmUUnMpZqPOYTAfBgNVHSMEGDAWgBT3\n" \
    "u3XYYBNRGArv1LxKaKUUTB5OrTAKBggqhkjOPQQDAgNHADBEAiA1hzmE7bud9WTO\n" \
    "fOQ9jVRLDSbmPATdDIEQOktGBBLfNwIgTMg8L3MiuWue0rj8fSeeqDJswpYBYOpU\n" \
    "KQNhg0c73No=\n" \
    "-----END CERTIFICATE-----\n"

#define SRV_KEY \
    "-----BEGIN EC PRIVATE KEY-----\n" \
    "MHcCAQEEIBflqekRr6GZQe0AfxwIsRX1N7pXvwnUBc5zlPe5OwjloAoGCCqGSM49\n" \
    "AwEHoUQDQgAE/WZKGFSjQzaMJwtKMSmdP3E4vSoM/dpjiSDmvvujHxWN3zjw6HpI\n" \
    "OmhwXPX5whu5UE96+OBb1GOMabKz30Wtlg==\n" \
    "-----END EC PRIVATE KEY-----\n"

#define SRV_KEY_ENC \
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n" \
    "MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAivDkj6k2qhZQICCAAw\n" \
    "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEFaKv1tJE3Z/gtodXdakGlsEgZBx\n" \
    "b3qwK0VnZfU9lB93o6sYW4cHu3+CvBWhGKLnPQjyx2ExGsKV3s2qpbADyR3EfCV1\n" \
    "jp/wN6bHQT9YQvON2cATO6sFgHLTdRLdZ7mfxeyYwlWm4wqecjjEGle60j7A++Bp\n" \
    "a1LG7IdcVOZbhymdNvUM0UNG3GxLSW0W8DOjPr3pwvBUkmpr294Bq9K02Rvmo8o=\n" \
    "-----END ENCRYPTED PRIVATE KEY-----\n"

#define OTHER_KEY \
    "-----BEGIN EC PRIVATE KEY-----\n" \
    "MHcCAQEEIEgjjeNVr4XfpJrTldy5zaotlS3F57a2/oaxMp1WYQB8oAoGCCqGSM49\n" \
    "AwEHoUQDQgAEDW8SZLLmOeIqM1na0SjbyOThdyGt9xzyn8CUdg1oGixKJTK3/5Ct\n" \
    "xVQqw09FlI3iUowhvfvzOiHMMqE9bkxseA==\n" \
    "-----END EC PRIVATE KEY-----\n"

#define SRV2_PEM \
    "-----BEGIN CERTIFICATE-----\n" \
    "MIIBsTCCAVagAwIBAgIUVEhsjqZ6cO2++ViOyPHL1zD8/MwwCgYIKoZIzj0EAwIw\n" \
    "HTEbMBkGA1UEAwwSY3VzdG9tLmV4YW1wbGUuY29tMCAXDTI2MTEyMzA5MjM0M1oY\n" \
    "DzIxMjYxMDMwMDkyMzQzWjAdMRswGQYDVQQDDBJjdXN0b20uZXhhbXBsZS5jb20w\n" \
    "WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQfx7coGjOmSwyj4Q6LvUU25hAt0G8w\n" \
    "dC6ZXv9RRKwIePshHcVq1jHPn56iNwYDDREGmmg/wThoy+GiBse4mWJYo3IwcDAd\n" \
    "BgNVHQ4EFgQUVbmtr2f4wycAmLl6Nh6JBSTWU2wwHwYDVR0jBBgwFoAUVbmtr2f4\n" \
    "wycAmLl6Nh6JBSTWU2wwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHREEFjAUghJjdXN0\n" \
    "b20uZXhhbXBsZS5jb20wCgYIKoZIzj0EAwIDSQAwRgIhALvd+QSuVv9Gc2VAHSSG\n" \
    "sfOqfN5MlRCG8+tDq3OxxSmMAiEAlMy0oWdv7JTjK3VfAp7vSl/NTmaWas+Nsd/j\n" \
    "0Y+uhRg=\n" \
    "-----END CERTIFICATE-----\n"

#define SRV2_KEY \
    "-----BEGIN EC PRIVATE KEY-----\n" \
    "MHcCAQEEIM8Oku/R3g1EYzim4hoBtJzrrRnu2SSTHvSi5b0gsrv0oAoGCCqGSM49\n" \
    "AwEHoUQDQgAEH8e3KBozpksMo+EOi71FNuYQLdBvMHQumV7/UUSsCHj7IR3FatYx\n" \
    "z5+eojcGAw0RBppoP8E4aMvhogbHuJliWA==\n" \
    "-----END EC PRIVATE KEY-----\n"

#endif
