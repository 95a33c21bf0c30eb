package dev.imprint.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.core.Attribution;
import dev.imprint.core.Match;
import dev.imprint.core.Metric;
import dev.imprint.core.ScoreResult;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code score --format json}: one JSON object per suspect, on one line each (JSON Lines), with the
 * field names of the gRPC API's {@code ScoreResponse} in snake case, so a script reads the CLI
 * and the server alike. A value that is not a number (a p-value not computed) is null.
 */
final class ScoreJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ScoreJson() {}

    /** One suspect's result as a single line of JSON, without the line break. */
    static String line(String suspectId, ScoreResult result) {
        ObjectNode root = JSON.createObjectNode();
        root.put("suspect", suspectId);
        root.put("probe_set_id", result.probeSetId());
        root.put("probes_used", result.probesUsed());
        root.put("references_scored", result.referencesScored());
        root.put("backend", result.backend());
        root.put("order_by", RankedTable.column(result.orderBy()));
        if (result.attribution() != null) {
            root.set("attribution", attribution(result.attribution()));
        }
        ArrayNode matches = root.putArray("matches");
        for (Match m : result.matches()) {
            ObjectNode match = matches.addObject();
            match.put("rank", m.rank());
            match.put("model_id", m.modelId());
            ObjectNode labels = match.putObject("labels");
            new TreeMap<>(m.labels()).forEach(labels::put);
            number(match, "p_value", m.pValue());
            ObjectNode values = match.putObject("values");
            for (Map.Entry<Metric, Double> v : m.values().entrySet()) {
                number(values, RankedTable.column(v.getKey()), v.getValue());
            }
        }
        try {
            return JSON.writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("a tree of plain values did not serialise", e);
        }
    }

    private static ObjectNode attribution(Attribution a) {
        ObjectNode node = JSON.createObjectNode();
        node.put("verdict", a.verdict().name());
        node.put("model_id", a.modelId());
        node.put("family", a.family());
        number(node, "p_value", a.pValue());
        node.put("alpha", a.alpha());
        node.put("reason", a.reason());
        number(node, "effect_size", a.effectSize());
        node.put("probes_used", a.probesUsed());
        node.put("statistic", a.statistic());
        ArrayNode evidence = node.putArray("evidence");
        for (Attribution.Evidence e : a.evidence()) {
            ObjectNode item = evidence.addObject();
            item.put("model_id", e.modelId());
            item.put("control_id", e.controlId());
            ArrayNode probes = item.putArray("probes");
            for (int p : e.probes()) {
                probes.add(p);
            }
            ArrayNode contributions = item.putArray("contributions");
            for (double c : e.contributions()) {
                contributions.add(c);
            }
            number(item, "p_value", e.pValue());
        }
        return node;
    }

    /** JSON has no NaN or infinity: those are written as null. */
    private static void number(ObjectNode node, String field, double value) {
        if (Double.isFinite(value)) {
            node.put(field, value);
        } else {
            node.putNull(field);
        }
    }
}
