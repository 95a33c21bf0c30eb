package dev.imprint.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Help;
import picocli.CommandLine.Help.Ansi.Text;
import picocli.CommandLine.Help.ColorScheme;
import picocli.CommandLine.Help.IOptionRenderer;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Usage help that adds, under each option, the environment variable that sets it
 * ({@link EnvDefaults#variableFor}) and its default, unless the description already mentions one.
 */
final class EnvAwareHelp extends Help {

    EnvAwareHelp(CommandSpec spec, ColorScheme scheme) {
        super(spec, scheme);
    }

    @Override
    public IOptionRenderer createDefaultOptionRenderer() {
        IOptionRenderer plain = super.createDefaultOptionRenderer();
        return (option, labels, scheme) -> {
            Text[][] rows = plain.render(option, labels, scheme);
            if (option.usageHelp() || option.versionHelp()) {
                return rows;
            }
            List<Text[]> out = new ArrayList<>(Arrays.asList(rows));
            Text[] extra = new Text[rows[0].length];
            Arrays.fill(extra, scheme.text(""));
            extra[extra.length - 1] = scheme.text(envLine(option));
            out.add(extra);
            return out.toArray(new Text[0][]);
        };
    }

    private static String envLine(OptionSpec option) {
        String line = "  env " + EnvDefaults.variableFor(option);
        String value = option.defaultValueString();
        boolean flag = option.arity().max() == 0;
        // A description that already states its default (e.g. through ${DEFAULT-VALUE}) keeps it.
        boolean shown = String.join(" ", option.description()).toLowerCase(Locale.ROOT).contains("default");
        // picocli renders an absent default as "null" and an empty collection as "[]" or "{}".
        boolean none = value == null || value.isEmpty() || List.of("null", "[]", "{}").contains(value);
        if (!flag && !shown && !none) {
            line += ", default " + value;
        }
        return line;
    }
}
