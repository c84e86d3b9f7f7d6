/*
 * catalogue.c -- the units projection: each provider unit's capacity, as the municipality's
 * catalogue (CataloguePublished, service allocation's YAML file as published) states it,
 * for the places and occupancy of ServicesReport.
 *
 * reporting.catalogues: one row per CataloguePublished (municipality, version, position).
 * reporting.units: one row per unit of a published catalogue version (owner = the
 * catalogue's municipality, provider code, service code, capacity: places, or hours or
 * trips a week, and the dates it is valid), with the position of the CataloguePublished.
 * A later version of a municipality's catalogue replaces the earlier one from its position
 * on; both stay, so a report "as known on" a date reads the version published by then.
 *
 * Only `providers[].code` and `providers[].units[].{service, capacity, from, to}` are read;
 * allocation checks the whole file before it publishes it (docs/allocation.md, "The
 * catalogue"), so a unit this parser cannot read is skipped, never guessed.
 */
#include "reporting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "atb/v1/allocation.pb-c.h"

/* The value of key in a mapping node, or NULL. */
static yaml_node_t *get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

static const char *scalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static at_code insert_unit(es_txn *txn, const es_event *ev, const char *owner, const char *provider,
                           yaml_document_t *doc, yaml_node_t *unit, at_error *err)
{
    const char *service = scalar(get(doc, unit, "service")), *capacity = scalar(get(doc, unit, "capacity"));
    const char *from = scalar(get(doc, unit, "from")), *to = scalar(get(doc, unit, "to"));
    char *end = NULL;
    long cap = capacity ? strtol(capacity, &end, 10) : -1;
    if (!service || !capacity || !from || *end || cap < 0)
        return AT_OK;   /* not a unit this projection can read: skipped (see above) */
    char pos[24], c[24];
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    snprintf(c, sizeof c, "%ld", cap);
    const char *p[7] = {owner, provider, service, c, from, to, pos};
    return rep_exec(txn, ev, "reporting.units",
                    "INSERT INTO reporting.units (owner, provider, service, capacity, valid_from, valid_to, position) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    7, p, err);
}

at_code units_project(void *ctx, es_txn *txn, const es_event *ev, at_error *err)
{
    (void)ctx;
    if (strcmp(ev->type, "CataloguePublished") != 0)
        return AT_OK;
    Atb__V1__CataloguePublished *m = atb__v1__catalogue_published__unpack(NULL, ev->payload_len, ev->payload);
    if (!m || !m->municipality[0]) {
        if (m)
            atb__v1__catalogue_published__free_unpacked(m, NULL);
        return rep_malformed(ev, m ? "Its municipality is empty." : "Its payload does not decode.", err);
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        atb__v1__catalogue_published__free_unpacked(m, NULL);
        return at_error_set(err, AT_UNAVAILABLE, NULL, "could not project a catalogue: out of memory");
    }
    yaml_parser_set_input_string(&parser, m->document.data, m->document.len);
    if (!yaml_parser_load(&parser, &doc)) {
        yaml_parser_delete(&parser);
        atb__v1__catalogue_published__free_unpacked(m, NULL);
        return rep_malformed(ev, "Its document is not YAML.", err);
    }
    char pos[24];
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *cp[3] = {m->municipality, m->version, pos};
    at_code code = rep_exec(txn, ev, "reporting.catalogues",
                            "INSERT INTO reporting.catalogues (owner, version, position) VALUES ($1, $2, $3) "
                            "ON CONFLICT DO NOTHING",
                            3, cp, err);
    yaml_node_t *providers = get(&doc, yaml_document_get_root_node(&doc), "providers");
    if (providers && providers->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *i = providers->data.sequence.items.start;
             code == AT_OK && i < providers->data.sequence.items.top; i++) {
            yaml_node_t *prov = yaml_document_get_node(&doc, *i);
            const char *code_ = scalar(get(&doc, prov, "code"));
            yaml_node_t *units = get(&doc, prov, "units");
            if (!code_ || !units || units->type != YAML_SEQUENCE_NODE)
                continue;
            for (yaml_node_item_t *u = units->data.sequence.items.start;
                 code == AT_OK && u < units->data.sequence.items.top; u++)
                code = insert_unit(txn, ev, m->municipality, code_, &doc, yaml_document_get_node(&doc, *u), err);
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    atb__v1__catalogue_published__free_unpacked(m, NULL);
    return code;
}
