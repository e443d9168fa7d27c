# Which modelled fields do the samples never set?
# Input 1: descset.awk output for our protos. Input 2: the samples as
# printed by protoc --decode, each preceded by a line "@@ <message type>".
# Prints "<message>.<field>" for every field of every message we wrote
# (not the well-known types, not map entries) that no sample sets.
# protoc --decode prints Any payloads as bytes, so a field counts only where
# a sample sets it outside an Any; expanded "[type_url] {" blocks are
# followed all the same, should protoc ever print them.
FNR == NR {
    if ($1 == "M" && $3 == 1)
        mapentry[$2] = 1
    if ($1 == "F") {
        ftype[$2, $3] = $7
        nf++
        fmsg[nf] = $2
        fname[nf] = $3
    }
    next
}
/^@@ / {
    depth = 0
    cur[0] = $2
    next
}
{
    line = $0
    sub(/^[ \t]+/, "", line)
}
line ~ /^\[.*\] \{$/ {
    t = line
    sub(/^\[/, "", t)
    sub(/\] \{$/, "", t)
    sub(/.*\//, "", t)
    depth++
    cur[depth] = t
    next
}
line ~ /^[A-Za-z_0-9]+ \{$/ {
    n = line
    sub(/ \{$/, "", n)
    set[cur[depth], n] = 1
    t = ftype[cur[depth], n]
    depth++
    cur[depth] = (t == "" || t == "-") ? "?" : t
    next
}
line == "}" {
    depth--
    next
}
line ~ /^[A-Za-z_0-9]+: / {
    n = line
    sub(/:.*/, "", n)
    set[cur[depth], n] = 1
}
END {
    for (i = 1; i <= nf; i++) {
        m = fmsg[i]
        if (m ~ /^google\.protobuf\./ || mapentry[m])
            continue
        if (!set[m, fname[i]])
            print m "." fname[i]
    }
}
