package dev.imprint.core;

import java.util.regex.Pattern;

/**
 * The names of tenants. A tenant's name is also its directory under the data directory, so the
 * alphabet is closed and the path components "." and ".." are refused. The default tenant, whose
 * data lies at the top of the data directory as it did before tenants existed, has no name: null.
 */
public final class TenantNames {
    private static final Pattern ALLOWED = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    private TenantNames() {}

    /** Whether {@code tenant} is a valid tenant name (null, the default tenant, is not a name). */
    public static boolean valid(String tenant) {
        return tenant != null && ALLOWED.matcher(tenant).matches() && !tenant.equals(".") && !tenant.equals("..");
    }

    /**
     * Returns {@code tenant} if it is a valid name.
     *
     * @throws IllegalArgumentException naming the value and the expectation
     */
    public static String requireValid(String tenant) {
        if (!valid(tenant)) {
            throw new IllegalArgumentException("tenant '" + tenant + "' is not valid; expected 1 to 64 of "
                    + "A-Z a-z 0-9 . _ - (not . or ..)");
        }
        return tenant;
    }
}
