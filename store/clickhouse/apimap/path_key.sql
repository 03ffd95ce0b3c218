-- path_key (ClickHouse): apimap/sql/path_key.sql in ClickHouse's
-- spelling: regexp_replace(…, 'g') is replaceRegexpAll, replace is
-- replaceAll, ends_with is endsWith, CASE is if.
if(http_route = '' OR endsWith(http_route, '/'),
    replaceAll(
        replaceRegexpAll(
            replaceRegexpAll(replaceAll(http_path, '/', '//'),
                '/[0-9]{2,9}(/|$)', '/0000000000\\1'),
            '/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(/|$)',
            '/00000000-0000-0000-0000-000000000000\\1'),
        '//', '/'),
    '')
