# Flattens a FileDescriptorSet printed by
#   protoc --decode=google.protobuf.FileDescriptorSet google/protobuf/descriptor.proto
# into one line per item, so two sets can be compared with grep/comm:
#   M <message> <1 if map entry, else 0>
#   F <message> <field> <number> <label> <type> <message/enum type or -> <oneof or ->
#   E <enum> <value> <number>
# Names are full names without the leading dot. protoc prints one item per
# line: "key: value", "key {" or "}".
function owner(d,    i) {
    for (i = d; i > 0; i--)
        if (stack[i] == "message_type" || stack[i] == "nested_type")
            return i
    return 0
}
{
    line = $0
    sub(/^[ \t]+/, "", line)
}
line ~ /^[A-Za-z_0-9]+ \{$/ {
    kind = line
    sub(/ \{$/, "", kind)
    depth++
    stack[depth] = kind
    if (kind == "message_type" || kind == "nested_type" || kind == "enum_type") {
        o = owner(depth - 1)
        scope[depth] = o ? name[o] : pkg
        name[depth] = ""
        mapentry[depth] = 0
        nfields[depth] = 0
        noneofs[depth] = 0
    } else if (kind == "field") {
        f_name = ""; f_num = ""; f_label = ""; f_type = ""; f_tname = "-"; f_oneof = ""
    } else if (kind == "value") {
        v_name = ""; v_num = ""
    }
    next
}
line == "}" {
    kind = stack[depth]
    if (kind == "message_type" || kind == "nested_type") {
        print "M", name[depth], mapentry[depth]
        for (i = 1; i <= nfields[depth]; i++) {
            split(fields[depth, i], fl, SUBSEP)
            on = fl[6] == "" ? "-" : oneofs[depth, fl[6]]
            print "F", name[depth], fl[1], fl[2], fl[3], fl[4], fl[5], on
        }
    } else if (kind == "field") {
        o = owner(depth - 1)
        nfields[o]++
        fields[o, nfields[o]] = f_name SUBSEP f_num SUBSEP f_label SUBSEP f_type SUBSEP f_tname SUBSEP f_oneof
    } else if (kind == "value" && stack[depth - 1] == "enum_type") {
        print "E", name[depth - 1], v_name, v_num
    } else if (kind == "oneof_decl") {
        o = owner(depth - 1)
        oneofs[o, noneofs[o]] = od_name
        noneofs[o]++
    } else if (kind == "file") {
        pkg = ""
    }
    depth--
    next
}
{
    key = line
    sub(/:.*/, "", key)
    val = line
    sub(/^[^:]*: /, "", val)
    gsub(/"/, "", val)
    kind = stack[depth]
    if (kind == "file" && key == "package") {
        pkg = val
    } else if ((kind == "message_type" || kind == "nested_type" || kind == "enum_type") && key == "name") {
        name[depth] = (scope[depth] == "" ? "" : scope[depth] ".") val
    } else if (kind == "field") {
        if (key == "name") f_name = val
        else if (key == "number") f_num = val
        else if (key == "label") f_label = val
        else if (key == "type") f_type = val
        else if (key == "type_name") { f_tname = val; sub(/^\./, "", f_tname) }
        else if (key == "oneof_index") f_oneof = val ""
    } else if (kind == "value") {
        if (key == "name") v_name = val
        else if (key == "number") v_num = val
    } else if (kind == "oneof_decl" && key == "name") {
        od_name = val
    } else if (kind == "options" && key == "map_entry" && val == "true") {
        mapentry[depth - 1] = 1
    }
}
