#include "cli/cli.hpp"

#include <cstdio>
#include <exception>
#include <iostream>

#include "base/error.hpp"
#include "base/secure.hpp"
#include "cli/commands.hpp"

#ifndef GITSOPS_VERSION
#define GITSOPS_VERSION "0.0.0"
#endif

namespace gitsops::cli {

int run(int argc, char** argv) {
    init_sodium();
    CLI::App app{"git-sops: SOPS-encrypted secrets in git, with age keys.\n"
                 "Run as `git sops <command>`.",
                 "git-sops"};
    app.set_version_flag("--version", std::string("git-sops ") + GITSOPS_VERSION);
    app.require_subcommand(1);
    app.fallthrough(false);

    add_keygen(app);
    add_age(app);
    add_filter(app);
    add_install(app);
    add_encrypt(app);
    add_decrypt(app);
    add_filestatus(app);
    add_unlock(app);
    add_init(app);
    add_edit(app);
    add_rotate(app);
    add_updatekeys(app);
    add_status(app);
    add_hook(app);
    add_check(app);
    add_merge(app);
    add_resolve(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::RuntimeError& e) {
        // Not a usage error: a command (hooks, check, filters) that printed its own diagnostics
        // passes on its exit status this way.
        std::fflush(stdout);
        return e.get_exit_code();
    } catch (const CLI::ParseError& e) {
        // --help and --version are "errors" that succeed; every real usage error is one line
        // and exit 2, like the rest of our errors.
        if (e.get_exit_code() == 0) return app.exit(e);
        std::cerr << "git-sops: " << e.what() << " (see `git sops --help`)\n";
        return exit_code::usage;
    } catch (const Error& e) {
        std::fflush(stdout);
        std::cerr << "git-sops: " << e.what() << '\n';
        return e.code();
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::cerr << "git-sops: " << e.what() << '\n';
        return exit_code::generic;
    }
    return 0;
}

}  // namespace gitsops::cli
