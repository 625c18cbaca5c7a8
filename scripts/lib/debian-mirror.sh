# debian_mirror: prints the Debian mirror this machine already uses: the
# first URI of a deb822 .sources file, else the first "deb" line of
# sources.list (security suites left out). No host name is written in any
# script, so they follow whatever mirror the machine is set to.
debian_mirror() {
    local uri
    uri=$(awk 'tolower($1) == "uris:" && $2 !~ /security/ { print $2; exit }' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    if [ -z "$uri" ]; then
        uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' \
            /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
    fi
    printf '%s\n' "$uri"
}
