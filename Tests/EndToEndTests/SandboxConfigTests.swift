import Foundation
import Glibc
import Testing

/// The sandbox's configuration keys through the real `wharf`: `check-config` prints the limits per
/// build type and app and what the sandbox will be on this machine, refuses bad values naming the key
/// (and never echoes a secret), and `jobs explain` shows a job's limits.
@Suite struct SandboxConfigTests {
    @Test func checkConfigPrintsTheSandboxAndTheLimitsPerTypeAndApp() throws {
        let scratch = ScratchDirectory("wharf-sandbox-config")
        try scratch.write(
            "wharf.yaml",
            """
            scheduler:
              sandbox:
                mode: auto
                keep_failed_s: 60
              build:
                inherit_env: [HTTP_PROXY]
                env: ["NODE_ENV=production"]
                secrets: ["NPM_TOKEN=very-secret-npm-token"]
              limits:
                memory_bytes: 2147483648
                flutter_android:
                  memory_bytes: 8589934592
                  timeout_s: 3600
                apps: [shop]
                app:
                  shop:
                    network: true
                    processes: 0
            """)
        let result = try WharfProcess.run(["check-config", "--store", scratch.path + "/store", "--config", scratch.path + "/wharf.yaml"])
        #expect(result.status == 0, "\(result.stderr)")
        let out = result.stdout
        #expect(out.contains("scheduler.limits: memory 2 GiB, cpus 2, processes 512, disk 10 GiB"), "\(out)")
        #expect(out.contains("scheduler.limits.flutter_android: memory 8 GiB") && out.contains("timeout 3600 s"), "\(out)")
        #expect(out.contains("scheduler.limits.app.shop: memory 2 GiB, cpus 2, processes unlimited") && out.contains("network allowed"))
        #expect(out.contains("inherit_env [\"HTTP_PROXY\"]") && out.contains("secrets [\"NPM_TOKEN\"] (values not shown)"))
        #expect(!out.contains("very-secret-npm-token"))
        #expect(out.contains("build sandbox: builds run as 'wharf-build'") && out.contains("inside bubblewrap"), "\(out)")
        #expect(out.contains("build sandbox: limits: cgroups v1"), "\(out)")
    }

    @Test func badSandboxValuesAreRefusedNamingTheirKeyAndNoSecretIsEchoed() throws {
        let scratch = ScratchDirectory("wharf-sandbox-config-bad")
        let cases: [(String, String)] = [
            ("scheduler:\n  sandbox:\n    mode: docker\n", "scheduler.sandbox.mode"),
            ("scheduler:\n  sandbox:\n    user: root\n", "scheduler.sandbox.user"),
            ("scheduler:\n  sandbox:\n    root: relative/dir\n", "scheduler.sandbox.root"),
            ("scheduler:\n  build:\n    inherit_env: [WHARF_ADMIN_TOKEN]\n", "reserved for Wharf"),
            ("scheduler:\n  build:\n    env: [\"LD_PRELOAD=/tmp/x.so\"]\n", "reserved for Wharf"),
            ("scheduler:\n  build:\n    secrets: [\"no-equals-sign-secret-value\"]\n", "not NAME=value"),
            ("scheduler:\n  limits:\n    memory_bytes: 1000\n", "scheduler.limits.memory_bytes"),
            ("scheduler:\n  limits:\n    cpus: -1\n", "scheduler.limits.cpus"),
            ("scheduler:\n  limits:\n    flutter_web:\n      open_files: 3\n", "scheduler.limits.flutter_web.open_files"),
            ("scheduler:\n  limits:\n    memory_bytes: lots\n", "scheduler.limits.memory_bytes"),
        ]
        for (yaml, key) in cases {
            try scratch.write("bad.yaml", yaml)
            let result = try WharfProcess.run(["check-config", "--store", scratch.path + "/store", "--config", scratch.path + "/bad.yaml"])
            #expect(result.status != 0, "\(yaml)")
            #expect(result.stderr.contains(key), "\(yaml) → \(result.stderr)")
            #expect(!result.stderr.contains("no-equals-sign-secret-value") && !result.stdout.contains("no-equals-sign-secret-value"))
        }
        // A mode that cannot be had here is refused at start, not silently weakened.
        try scratch.write("strict.yaml", "scheduler:\n  sandbox:\n    mode: user\n    user: no-such-build-user\n")
        let strict = try WharfProcess.run(["check-config", "--store", scratch.path + "/store", "--config", scratch.path + "/strict.yaml"])
        #expect(strict.status != 0 && strict.stdout.contains("no user 'no-such-build-user'"), "\(strict.stdout) \(strict.stderr)")
    }

    @Test func explainShowsTheLimitsAJobWillGet() throws {
        let scratch = ScratchDirectory("wharf-sandbox-explain")
        try scratch.write("src/build.sh", "#!/bin/sh\nexit 0\n")
        chmod(scratch.path + "/src/build.sh", 0o755)
        try scratch.write("wharf.yaml", "scheduler:\n  limits:\n    flutter_android:\n      memory_bytes: 8589934592\n")
        let store = scratch.path + "/store"
        let config = scratch.path + "/wharf.yaml"
        let submitted = try WharfProcess.run([
            "build", "submit", "app1", "--type", "flutter_android", "--source", scratch.path + "/src",
            "--store", store, "--config", config,
        ])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let explained = try WharfProcess.run(["jobs", "explain", "1", "--store", store, "--config", config])
        #expect(
            explained.stdout.contains("limits: memory 8 GiB, cpus 2, processes 512, disk 10 GiB, open files 4096, timeout 1800 s"),
            "\(explained.stdout)")
    }
}
