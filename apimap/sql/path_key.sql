-- path_key is the path part of a span's request shape. A route names its
-- endpoint, so a span with an http.route has an empty path key and its
-- shape is the route's (the Templater then sees one sample path of it).
-- Without a route, or with a prefix route ending in "/", the path tells:
-- its integer (2 to 9 digits) and UUID segments are replaced by one fixed
-- value of the same kind, so that /documents/1 ... /documents/999999 are
-- one shape, which the Templater classifies exactly as the values it
-- stands for. Slashes are doubled first so that adjacent segments each
-- keep their own delimiters (RE2 has no look-ahead).
-- Dialect: DuckDB regexp_replace(s, re, repl, 'g') is ClickHouse
-- replaceRegexpAll(s, re, repl); ends_with is endsWith.
CASE WHEN http_route = '' OR ends_with(http_route, '/') THEN
    replace(
        regexp_replace(
            regexp_replace(replace(http_path, '/', '//'),
                '/[0-9]{2,9}(/|$)', '/0000000000\1', 'g'),
            '/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(/|$)',
            '/00000000-0000-0000-0000-000000000000\1', 'g'),
        '//', '/')
ELSE '' END
