-- A stored AMS answer names its format by media type, so the answers of
-- other source kinds (SOAP, SQL, SCIM) can be stored beside the contract's
-- JSON and XML. The two names of earlier versions become theirs; any other
-- value is kept as it is. Nothing else of the row changes.
UPDATE member_payloads SET
    details_encoding = CASE details_encoding
        WHEN 'json' THEN 'application/json' WHEN 'xml' THEN 'application/xml' ELSE details_encoding END,
    communities_encoding = CASE communities_encoding
        WHEN 'json' THEN 'application/json' WHEN 'xml' THEN 'application/xml' ELSE communities_encoding END,
    groups_encoding = CASE groups_encoding
        WHEN 'json' THEN 'application/json' WHEN 'xml' THEN 'application/xml' ELSE groups_encoding END
WHERE details_encoding IN ('json', 'xml')
   OR communities_encoding IN ('json', 'xml')
   OR groups_encoding IN ('json', 'xml');
