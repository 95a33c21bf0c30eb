package dev.imprint.cli;

import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Makes every option of every command settable by an environment variable: option {@code
 * --data-dir} reads {@code IMPRINT_DATA_DIR}, {@code --port} reads {@code IMPRINT_PORT}, and so
 * on ({@link #variableFor}). A set variable replaces the option's built-in default; a flag given
 * on the command line still wins over both. Positional parameters have no variable.
 */
public final class EnvDefaults implements IDefaultValueProvider {
    public static final String PREFIX = "IMPRINT_";

    private final Map<String, String> environment;

    /** @param environment the variables to read, normally {@link System#getenv()} */
    public EnvDefaults(Map<String, String> environment) {
        this.environment = Map.copyOf(environment);
    }

    @Override
    public String defaultValue(ArgSpec argSpec) {
        if (!(argSpec instanceof OptionSpec option) || option.usageHelp() || option.versionHelp()) {
            return null;
        }
        String value = environment.get(variableFor(option));
        return value == null || value.isEmpty() ? null : value;
    }

    /**
     * Variable {@code name} of the environment {@code cli} was built with (a test gives its own);
     * null when it is unset or empty.
     */
    static String variable(picocli.CommandLine cli, String name) {
        String value = cli.getDefaultValueProvider() instanceof EnvDefaults env ? env.environment.get(name)
                : System.getenv(name);
        return value == null || value.isEmpty() ? null : value;
    }

    /**
     * The variable behind a usage error: for an option of {@code spec} that {@code message}
     * names, that is not on the command line {@code args} and whose variable is set, "NAME=value";
     * null when the error is the command line's own.
     */
    String blamedVariable(picocli.CommandLine.Model.CommandSpec spec, String message, String[] args) {
        for (OptionSpec option : spec.options()) {
            String variable = variableFor(option);
            String value = environment.get(variable);
            if (value == null || value.isEmpty() || option.usageHelp() || option.versionHelp()) {
                continue;
            }
            boolean named = false;
            for (String name : option.names()) {
                named |= message.contains(name + "=") || message.contains("'" + name + "'");
            }
            boolean given = false;
            for (String arg : args) {
                for (String name : option.names()) {
                    given |= arg.equals(name) || arg.startsWith(name + "=");
                }
            }
            if (named && !given) {
                return variable + "=" + value;
            }
        }
        return null;
    }

    /**
     * The variable an option reads: {@value #PREFIX} followed by its longest name without leading
     * dashes, upper-cased, with '-' as '_'.
     */
    public static String variableFor(OptionSpec option) {
        String name = option.longestName().replaceFirst("^-+", "");
        return PREFIX + name.toUpperCase(Locale.ROOT).replace('-', '_');
    }
}
