-- E-invoices (EN 16931) need structured parties, a unit and a VAT category per line, and the reason a supply is
-- exempt. Free-text addresses are split into parts here, best effort, and flagged for a person to review: until
-- then documents keep printing the text as typed, and e-invoices use the parts. Invoices already issued keep the
-- snapshot taken at issue, with the split parts added beside the text (flagged the same way).

-- BT-35..40 / BT-50..55: street, additional line, postcode, city, ISO 3166-1 country.
ALTER TABLE workspaces
    ADD COLUMN street text NOT NULL DEFAULT '' CHECK (length(street) <= 200),
    ADD COLUMN street_extra text NOT NULL DEFAULT '' CHECK (length(street_extra) <= 200),
    ADD COLUMN postcode text NOT NULL DEFAULT '' CHECK (length(postcode) <= 20),
    ADD COLUMN city text NOT NULL DEFAULT '' CHECK (length(city) <= 100),
    ADD COLUMN country_code text NOT NULL DEFAULT '' CHECK (country_code ~ '^([A-Z]{2})?$'),
    ADD COLUMN address_needs_review boolean NOT NULL DEFAULT false,
    -- BT-32: a tax registration other than the VAT id (a German Steuernummer); BT-30: the company's legal
    -- registration (Handelsregister, SIREN).
    ADD COLUMN tax_registration text NOT NULL DEFAULT '' CHECK (length(tax_registration) <= 64),
    ADD COLUMN registration_id text NOT NULL DEFAULT '' CHECK (length(registration_id) <= 64),
    -- BT-34: the electronic address (Peppol endpoint) and its EAS scheme; empty: the e-mail address ('EM').
    ADD COLUMN endpoint_id text NOT NULL DEFAULT '' CHECK (length(endpoint_id) <= 200),
    ADD COLUMN endpoint_scheme text NOT NULL DEFAULT '' CHECK (endpoint_scheme ~ '^([0-9]{4}|EM)?$'),
    -- BG-6: the seller's contact, which German public buyers require.
    ADD COLUMN contact_name text NOT NULL DEFAULT '' CHECK (length(contact_name) <= 200),
    ADD COLUMN contact_phone text NOT NULL DEFAULT '' CHECK (length(contact_phone) <= 50),
    ADD COLUMN contact_email text NOT NULL DEFAULT '' CHECK (length(contact_email) <= 320),
    -- BT-84 / BT-86: the account for credit transfers (payment means 58, SEPA credit transfer).
    ADD COLUMN iban text NOT NULL DEFAULT '' CHECK (iban ~ '^([A-Z]{2}[0-9]{2}[A-Z0-9]{11,30})?$'),
    ADD COLUMN bic text NOT NULL DEFAULT '' CHECK (bic ~ '^([A-Z0-9]{8}|[A-Z0-9]{11})?$'),
    -- The PDF a customer downloads carries the e-invoice (Factur-X) unless the workspace turns it off.
    ADD COLUMN einvoice_in_pdf boolean NOT NULL DEFAULT true;

ALTER TABLE customers
    ADD COLUMN street text NOT NULL DEFAULT '' CHECK (length(street) <= 200),
    ADD COLUMN street_extra text NOT NULL DEFAULT '' CHECK (length(street_extra) <= 200),
    ADD COLUMN postcode text NOT NULL DEFAULT '' CHECK (length(postcode) <= 20),
    ADD COLUMN city text NOT NULL DEFAULT '' CHECK (length(city) <= 100),
    ADD COLUMN country_code text NOT NULL DEFAULT '' CHECK (country_code ~ '^([A-Z]{2})?$'),
    ADD COLUMN address_needs_review boolean NOT NULL DEFAULT false,
    ADD COLUMN endpoint_id text NOT NULL DEFAULT '' CHECK (length(endpoint_id) <= 200),
    ADD COLUMN endpoint_scheme text NOT NULL DEFAULT '' CHECK (endpoint_scheme ~ '^([0-9]{4}|EM)?$'),
    -- BT-10: the buyer's reference; for German public buyers the Leitweg-ID.
    ADD COLUMN buyer_reference text NOT NULL DEFAULT '' CHECK (length(buyer_reference) <= 200);

-- BT-130: UN/ECE Recommendation 20 (C62 one piece, HUR hour, DAY day, KGM kilogram …); BT-151: the VAT
-- category (S standard, Z zero, E exempt, AE reverse charge, K intra-community supply, G export, O outside scope).
ALTER TABLE invoice_lines
    ADD COLUMN unit_code text NOT NULL DEFAULT 'C62' CHECK (unit_code ~ '^[A-Z0-9]{2,3}$'),
    ADD COLUMN tax_category text NOT NULL DEFAULT 'S' CHECK (tax_category IN ('S', 'Z', 'E', 'AE', 'K', 'G', 'O'));
-- BT-120: why an exempt supply (category E) is exempt, as the law says it.
ALTER TABLE invoices ADD COLUMN vat_exemption_reason text NOT NULL DEFAULT '' CHECK (length(vat_exemption_reason) <= 500);

-- Lines with no VAT were standard-rated at 0 % only in name: a 0 % rate is zero-rated (Z) until someone says why.
UPDATE invoice_lines SET tax_category = 'Z' WHERE tax_rate = 0;

CREATE TEMPORARY TABLE country_names (name text PRIMARY KEY, code text NOT NULL) ON COMMIT DROP;
INSERT INTO country_names (name, code) VALUES
    ('alemanha', 'DE'),
    ('alemania', 'DE'),
    ('allemagne', 'DE'),
    ('at', 'AT'),
    ('au', 'AU'),
    ('australia', 'AU'),
    ('australie', 'AU'),
    ('australien', 'AU'),
    ('australië', 'AU'),
    ('austria', 'AT'),
    ('austrália', 'AU'),
    ('autriche', 'AT'),
    ('be', 'BE'),
    ('belgia', 'BE'),
    ('belgien', 'BE'),
    ('belgio', 'BE'),
    ('belgique', 'BE'),
    ('belgium', 'BE'),
    ('belgië', 'BE'),
    ('bg', 'BG'),
    ('bulgaria', 'BG'),
    ('bulgarie', 'BG'),
    ('bulgarien', 'BG'),
    ('bulgarije', 'BG'),
    ('bulgária', 'BG'),
    ('bułgaria', 'BG'),
    ('bélgica', 'BE'),
    ('ca', 'CA'),
    ('canada', 'CA'),
    ('canadá', 'CA'),
    ('cechia', 'CZ'),
    ('ch', 'CH'),
    ('chequia', 'CZ'),
    ('chipre', 'CY'),
    ('chorwacja', 'HR'),
    ('chypre', 'CY'),
    ('cipro', 'CY'),
    ('croacia', 'HR'),
    ('croatia', 'HR'),
    ('croatie', 'HR'),
    ('croazia', 'HR'),
    ('croácia', 'HR'),
    ('cy', 'CY'),
    ('cypern', 'CY'),
    ('cypr', 'CY'),
    ('cyprus', 'CY'),
    ('cz', 'CZ'),
    ('czech republic', 'CZ'),
    ('czechia', 'CZ'),
    ('czechy', 'CZ'),
    ('danemark', 'DK'),
    ('dania', 'DK'),
    ('danimarca', 'DK'),
    ('danmark', 'DK'),
    ('de', 'DE'),
    ('denemarken', 'DK'),
    ('denmark', 'DK'),
    ('deutschland', 'DE'),
    ('dinamarca', 'DK'),
    ('dk', 'DK'),
    ('duitsland', 'DE'),
    ('dänemark', 'DK'),
    ('ee', 'EE'),
    ('england', 'GB'),
    ('es', 'ES'),
    ('eslovaquia', 'SK'),
    ('eslovenia', 'SI'),
    ('eslováquia', 'SK'),
    ('eslovênia', 'SI'),
    ('espagne', 'ES'),
    ('espanha', 'ES'),
    ('españa', 'ES'),
    ('estados unidos', 'US'),
    ('estland', 'EE'),
    ('estonia', 'EE'),
    ('estonie', 'EE'),
    ('estônia', 'EE'),
    ('fi', 'FI'),
    ('finland', 'FI'),
    ('finlande', 'FI'),
    ('finlandia', 'FI'),
    ('finlândia', 'FI'),
    ('finnland', 'FI'),
    ('fr', 'FR'),
    ('france', 'FR'),
    ('francia', 'FR'),
    ('francja', 'FR'),
    ('frankreich', 'FR'),
    ('frankrijk', 'FR'),
    ('frankrike', 'FR'),
    ('frança', 'FR'),
    ('gb', 'GB'),
    ('germania', 'DE'),
    ('germany', 'DE'),
    ('gr', 'GR'),
    ('great britain', 'GB'),
    ('grecia', 'GR'),
    ('grecja', 'GR'),
    ('greece', 'GR'),
    ('grekland', 'GR'),
    ('griechenland', 'GR'),
    ('griekenland', 'GR'),
    ('grèce', 'GR'),
    ('grécia', 'GR'),
    ('hiszpania', 'ES'),
    ('holandia', 'NL'),
    ('holland', 'NL'),
    ('hongarije', 'HU'),
    ('hongrie', 'HU'),
    ('hr', 'HR'),
    ('hu', 'HU'),
    ('hungary', 'HU'),
    ('hungria', 'HU'),
    ('hungría', 'HU'),
    ('iceland', 'IS'),
    ('ie', 'IE'),
    ('ierland', 'IE'),
    ('ijsland', 'IS'),
    ('ireland', 'IE'),
    ('irland', 'IE'),
    ('irlanda', 'IE'),
    ('irlande', 'IE'),
    ('irlandia', 'IE'),
    ('is', 'IS'),
    ('island', 'IS'),
    ('islanda', 'IS'),
    ('islande', 'IS'),
    ('islandia', 'IS'),
    ('islândia', 'IS'),
    ('it', 'IT'),
    ('italia', 'IT'),
    ('italie', 'IT'),
    ('italien', 'IT'),
    ('italië', 'IT'),
    ('italy', 'IT'),
    ('itália', 'IT'),
    ('kanada', 'CA'),
    ('kroatien', 'HR'),
    ('kroatië', 'HR'),
    ('latvia', 'LV'),
    ('letland', 'LV'),
    ('letonia', 'LV'),
    ('lettland', 'LV'),
    ('lettonia', 'LV'),
    ('lettonie', 'LV'),
    ('letônia', 'LV'),
    ('li', 'LI'),
    ('liechtenstein', 'LI'),
    ('litauen', 'LT'),
    ('lithuania', 'LT'),
    ('litouwen', 'LT'),
    ('lituania', 'LT'),
    ('lituanie', 'LT'),
    ('lituânia', 'LT'),
    ('litwa', 'LT'),
    ('lt', 'LT'),
    ('lu', 'LU'),
    ('luksemburg', 'LU'),
    ('lussemburgo', 'LU'),
    ('luxembourg', 'LU'),
    ('luxemburg', 'LU'),
    ('luxemburgo', 'LU'),
    ('lv', 'LV'),
    ('malta', 'MT'),
    ('malte', 'MT'),
    ('mt', 'MT'),
    ('nederland', 'NL'),
    ('nederländerna', 'NL'),
    ('netherlands', 'NL'),
    ('niederlande', 'NL'),
    ('niemcy', 'DE'),
    ('nl', 'NL'),
    ('no', 'NO'),
    ('noorwegen', 'NO'),
    ('norge', 'NO'),
    ('noruega', 'NO'),
    ('norvegia', 'NO'),
    ('norvège', 'NO'),
    ('norway', 'NO'),
    ('norwegen', 'NO'),
    ('norwegia', 'NO'),
    ('oostenrijk', 'AT'),
    ('paesi bassi', 'NL'),
    ('pays-bas', 'NL'),
    ('países baixos', 'NL'),
    ('países bajos', 'NL'),
    ('pl', 'PL'),
    ('poland', 'PL'),
    ('polen', 'PL'),
    ('pologne', 'PL'),
    ('polonia', 'PL'),
    ('polska', 'PL'),
    ('polônia', 'PL'),
    ('portogallo', 'PT'),
    ('portugal', 'PT'),
    ('portugalia', 'PT'),
    ('pt', 'PT'),
    ('regno unito', 'GB'),
    ('reino unido', 'GB'),
    ('ro', 'RO'),
    ('roemenië', 'RO'),
    ('romania', 'RO'),
    ('romênia', 'RO'),
    ('roumanie', 'RO'),
    ('royaume-uni', 'GB'),
    ('rumanía', 'RO'),
    ('rumunia', 'RO'),
    ('rumänien', 'RO'),
    ('schweden', 'SE'),
    ('schweiz', 'CH'),
    ('se', 'SE'),
    ('si', 'SI'),
    ('sk', 'SK'),
    ('slovacchia', 'SK'),
    ('slovakia', 'SK'),
    ('slovakien', 'SK'),
    ('slovaquie', 'SK'),
    ('slovenia', 'SI'),
    ('slovenien', 'SI'),
    ('slovenië', 'SI'),
    ('slovénie', 'SI'),
    ('slowakei', 'SK'),
    ('slowakije', 'SK'),
    ('slowenien', 'SI'),
    ('spagna', 'ES'),
    ('spain', 'ES'),
    ('spanien', 'ES'),
    ('spanje', 'ES'),
    ('stany zjednoczone', 'US'),
    ('stati uniti', 'US'),
    ('storbritannien', 'GB'),
    ('suecia', 'SE'),
    ('suisse', 'CH'),
    ('suiza', 'CH'),
    ('suède', 'SE'),
    ('suécia', 'SE'),
    ('suíça', 'CH'),
    ('sverige', 'SE'),
    ('svezia', 'SE'),
    ('svizzera', 'CH'),
    ('sweden', 'SE'),
    ('switzerland', 'CH'),
    ('szwajcaria', 'CH'),
    ('szwecja', 'SE'),
    ('słowacja', 'SK'),
    ('słowenia', 'SI'),
    ('tchéquia', 'CZ'),
    ('tchéquie', 'CZ'),
    ('the netherlands', 'NL'),
    ('tjeckien', 'CZ'),
    ('tschechien', 'CZ'),
    ('tsjechië', 'CZ'),
    ('tyskland', 'DE'),
    ('uk', 'GB'),
    ('ungarn', 'HU'),
    ('ungern', 'HU'),
    ('ungheria', 'HU'),
    ('united kingdom', 'GB'),
    ('united states', 'US'),
    ('united states of america', 'US'),
    ('us', 'US'),
    ('usa', 'US'),
    ('vereinigte staaten', 'US'),
    ('vereinigtes königreich', 'GB'),
    ('verenigd koninkrijk', 'GB'),
    ('verenigde staten', 'US'),
    ('wielka brytania', 'GB'),
    ('węgry', 'HU'),
    ('włochy', 'IT'),
    ('zweden', 'SE'),
    ('zwitserland', 'CH'),
    ('zypern', 'CY'),
    ('áustria', 'AT'),
    ('états-unis', 'US'),
    ('österreich', 'AT'),
    ('österrike', 'AT'),
    ('łotwa', 'LV');

-- The parts of a typed address: the last line a country when it names one, then the last line that looks like
-- a postcode and a city (either order), the first line the street and the rest the additional line.
CREATE FUNCTION pg_temp.split_address(address text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    lines text[] := ARRAY(SELECT trim(line) FROM regexp_split_to_table(coalesce(address, ''), '\s*\n\s*') AS line
                          WHERE trim(line) <> '');
    country text := '';
    postcode text := '';
    city text := '';
    found text[];
    i integer;
BEGIN
    IF array_length(lines, 1) IS NULL THEN
        RETURN jsonb_build_object('street', '', 'street_extra', '', 'postcode', '', 'city', '', 'country_code', '');
    END IF;
    SELECT code INTO country FROM country_names WHERE name = lower(rtrim(lines[array_length(lines, 1)], '.'));
    IF country IS NOT NULL AND array_length(lines, 1) > 1 THEN
        lines := lines[1:array_length(lines, 1) - 1];
    ELSE
        country := '';
    END IF;
    FOR i IN REVERSE array_length(lines, 1)..1 LOOP
        -- "10115 Berlin", "D-10115 Berlin", "1012 AB Amsterdam", "00-950 Warszawa", "1000-001 Lisboa", "114 55 Stockholm"
        found := regexp_match(lines[i],
            '^(?:[A-Z]{1,2}-)?([0-9]{4,5}|[0-9]{4} ?[A-Z]{2}|[0-9]{2}-[0-9]{3}|[0-9]{4}-[0-9]{3}|[0-9]{3} [0-9]{2})\s+(.+)$');
        IF found IS NOT NULL THEN
            postcode := found[1]; city := found[2];
        ELSE
            -- "London SW1A 1AA", "Springfield, IL 62701"
            found := regexp_match(lines[i],
                '^(.+?),?\s+([A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}|(?:[A-Z]{2} )?[0-9]{5}(?:-[0-9]{4})?)$');
            IF found IS NOT NULL THEN
                city := found[1]; postcode := found[2];
            END IF;
        END IF;
        IF found IS NOT NULL THEN
            lines := lines[1:i - 1] || lines[i + 1:array_length(lines, 1)];
            EXIT;
        END IF;
    END LOOP;
    RETURN jsonb_build_object(
        'street', left(coalesce(lines[1], ''), 200),
        'street_extra', left(coalesce(array_to_string(lines[2:array_length(lines, 1)], ', '), ''), 200),
        'postcode', left(postcode, 20), 'city', left(city, 100), 'country_code', country
    );
END;
$$;

UPDATE workspaces SET (street, street_extra, postcode, city, country_code, address_needs_review) = (
    SELECT p->>'street', p->>'street_extra', p->>'postcode', p->>'city', p->>'country_code', true
    FROM pg_temp.split_address(address) AS p
) WHERE address <> '';
UPDATE customers SET (street, street_extra, postcode, city, country_code, address_needs_review) = (
    SELECT p->>'street', p->>'street_extra', p->>'postcode', p->>'city', p->>'country_code', true
    FROM pg_temp.split_address(billing_address) AS p
) WHERE billing_address <> '';
UPDATE invoices SET
    seller_snapshot = seller_snapshot || pg_temp.split_address(seller_snapshot->>'address')
                      || jsonb_build_object('address_needs_review', true),
    buyer_snapshot = buyer_snapshot || pg_temp.split_address(buyer_snapshot->>'address')
                     || jsonb_build_object('address_needs_review', true)
WHERE seller_snapshot IS NOT NULL AND buyer_snapshot IS NOT NULL;
